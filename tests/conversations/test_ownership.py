"""A conversation belongs to the first verified caller in it (bot/conversations/ownership.py)."""
from bot.caller import ANONYMOUS_CALLER, Caller, resolve_caller
from bot.config import load_settings
from bot.conversations.ownership import claim, owner_of
from bot.identity import issue_staff_token, issue_token


def test_first_verified_turn_binds_and_others_are_refused(session):
    assert claim(session, "conv-1", None)  # anonymous, nobody owns it yet
    assert owner_of(session, "conv-1") is None
    assert claim(session, "conv-1", "customer:C-1001")  # signing in half-way takes it over
    assert claim(session, "conv-1", "customer:C-1001")
    assert not claim(session, "conv-1", "customer:C-1002")
    assert not claim(session, "conv-1", None)
    assert not claim(session, "conv-1", "partner-staff:P-01:Mei Chen")
    assert owner_of(session, "conv-1") == "customer:C-1001"


def test_a_claim_that_does_not_bind_leaves_the_conversation_free(session):
    assert claim(session, "conv-2", "customer:C-1001", bind=False)
    assert owner_of(session, "conv-2") is None
    assert claim(session, "conv-2", "customer:C-1002")


def test_callers_from_tokens(db_url):
    settings = load_settings()
    customer = resolve_caller({"customer_token": issue_token("C-1001")}, settings)
    staff = resolve_caller({"partner_token": issue_staff_token("P-01", "Mei Chen")}, settings)
    forged = resolve_caller({"customer_token": issue_token("C-1001")[:-3] + "abc"}, settings)
    surrogate = resolve_caller({"customer_token": "eyJ\ud800.x.y"}, settings)
    huge = resolve_caller({"customer_token": "eyJ" + "a" * 10000}, settings)
    assert (customer.principal, staff.principal) == ("customer:C-1001", "partner-staff:P-01:Mei Chen")
    assert forged.principal is None and forged.token_problem == "invalid"
    assert surrogate.token_problem == "invalid" and huge.token_problem == "invalid"
    assert resolve_caller({}, settings) == ANONYMOUS_CALLER


def test_an_expired_token_says_whose_it_was_but_grants_nothing(db_url):
    from datetime import timedelta
    expired = resolve_caller({"customer_token": issue_token("C-1003", ttl=timedelta(seconds=-5))}, load_settings())
    assert (expired.is_customer, expired.token_problem, expired.expired_customer_id) == (False, "expired", "C-1003")


def test_caller_metadata_round_trips_and_rejects_junk():
    caller = Caller("customer", customer_id="C-1001")
    assert Caller.from_metadata({"caller": caller.to_metadata()}) == caller
    for junk in (None, [], {"caller": "customer"}, {"caller": {"kind": "admin"}},
                 {"caller": {"kind": "customer", "customer_id": ["C-1001"]}}):
        assert Caller.from_metadata(junk) == ANONYMOUS_CALLER
