"""The member's side of the web: signing in with an e-mail address, the claim page's session,
My vouchers with their barcodes, and MARK AS USED. Server-rendered, no script, phone first.

`session` knows who is signed in and checks forms; `templating` renders member pages with their
security headers; `pages` holds the /my routes (the claim page lives in central/routers/claims.py).
"""
