"""Members and vouchers at head office: finding a member by (part of) their address, their Customer
Details Page (seed 002: every voucher they claimed with its story), one voucher's page, and the status
changes only staff may make on both."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from central.context import Context, get_context
from central.problems import status_of
from central.services import customers
from central.services import vouchers as voucher_service
from central.services.staff import Session
from central.web.session import acting, csrf_checked, form_data, signed_in
from central.web.templating import error_words, render, words_of
from vouchers.codes import is_code
from vouchers.errors import FieldError, InvalidInput, VoucherError
from vouchers.status import Status

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PAGE = 50


@dataclass(frozen=True)
class FormProblem:
    """A status-change form sent back: which voucher, what was chosen and written, and what is wrong."""

    voucher_id: str
    status: str
    reason: str
    message: str


def member_url(member_id: str) -> str:
    return "/dashboard/members/" + quote(member_id, safe="@")


@router.get("/members")
def find_page(
    request: Request, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    q = request.query_params.get("q", "").strip()[:200]
    raw = request.query_params.get("page", "")
    number = int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1
    found = None
    if q and is_code(q):  # a whole code (typed or scanned): that voucher's page, which names its member
        with ctx.db.read() as conn:
            known = voucher_service.exists(conn, q)
        if known:
            return RedirectResponse(f"/dashboard/vouchers/{known}", status_code=303)
    if q:
        with ctx.db.read() as conn:
            found = customers.find_members(conn, q, limit=PAGE, offset=(number - 1) * PAGE)
    pages = (found.total + PAGE - 1) // PAGE if found else 0
    return render(
        request,
        "dashboard/members.html",
        {
            "q": q,
            "found": found,
            "page": number,
            "pages": pages,
            "first_shown": (number - 1) * PAGE + 1,
            "member_url": member_url,
            "prev_url": f"?{urlencode({'q': q, 'page': number - 1})}" if number > 1 else None,
            "next_url": f"?{urlencode({'q': q, 'page': number + 1})}" if number < pages else None,
        },
    )


def customer_page(
    request: Request, ctx: Context, member_id: str, problem: FormProblem | None = None, status: int = 200
) -> Response:
    with ctx.db.read() as conn:
        person = customers.customer(conn, member_id)
    return render(
        request,
        "dashboard/customer.html",
        {"c": person, "problem": problem, "statuses": [s.value for s in Status], "member_url": member_url},
        status,
    )


@router.get("/members/{member_id:path}")
def details(
    request: Request, member_id: str, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    return customer_page(request, ctx, member_id)


def voucher_page(
    request: Request, ctx: Context, code: str, problem: FormProblem | None = None, status: int = 200
) -> Response:
    with ctx.db.read() as conn:
        v = voucher_service.one(conn, code[:200])
        story = customers.voucher_story(conn, v.batch_id, v.serial)
    return render(
        request,
        "dashboard/voucher.html",
        {
            "v": story,
            "problem": problem,
            "member_url": member_url,
            "statuses": [s.value for s in Status],
        },
        status,
    )


@router.get("/vouchers/{code}")
def voucher_details(
    request: Request, code: str, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    return voucher_page(request, ctx, code)


@router.post("/vouchers/{code}/status")
def change_status(
    request: Request,
    code: str,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    """Seed 002's staff change (used → unused, pending → any) with its reason; back to the page it came
    from (the member's, or the voucher's) with what happened, or the page again with the problem."""
    actor = acting(request, session, "voucher.status")
    new, reason = str(form.get("status") or ""), str(form.get("reason") or "")
    back = form.get("back")
    with ctx.db.read() as conn:
        v = voucher_service.one(conn, code[:200])
    member = v.claim.member_id if v.claim else None
    try:
        if new not in {s.value for s in Status}:
            raise InvalidInput(
                [FieldError("status", words_of(request).gettext("Choose the status to give it."))]
            )
        with ctx.db.write() as conn:
            voucher_service.change_status(conn, actor, v.code, Status(new), reason)
    except VoucherError as exc:
        words = error_words(exc, words_of(request))
        message = "; ".join(e.message for e in words.errors) or words.detail
        problem = FormProblem(v.id, new, reason[:2000], message)
        if back == "member" and member:
            return customer_page(request, ctx, member, problem, status_of(exc))
        return voucher_page(request, ctx, v.code, problem, status_of(exc))
    anchor = "#voucher-" + v.id.replace(".", "-")
    done = "?done=voucher-reverted" if v.status == Status.USED else "?done=voucher-status"
    if back == "member" and member:
        return RedirectResponse(member_url(member) + done + anchor, status_code=303)
    return RedirectResponse(f"/dashboard/vouchers/{v.code}{done}", status_code=303)
