"""The staff CLI as partner staff run it, and migration 0005 on a fresh and on an existing database.

Why: until the partner desk channels exist, staff work the fapiao queue with this CLI; and a
database that already holds billing data must gain the fapiao tables and the demo tax facts
without losing anything.
"""
from __future__ import annotations

import os
import subprocess
import sys

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

import bot.fapiao.models  # noqa: F401  (the fapiao tables are part of Base.metadata)
from bot.config import REPO_ROOT
from bot.db import get_engine, reset_engine, session_scope
from bot.db.models import Base, Invoice
from bot.fapiao import news
from bot.fapiao.__main__ import main as fapiao_cli
from bot.fapiao.models import CustomerTaxProfile, FapiaoPolicy
from bot.seed import seed_demo
from tests.fapiao.helpers import CONTOSO, NUMBER_2026, OTHER_PARTNER, PARTNER, add_other_partner, events, file

FAPIAO_TABLES = {"customer_tax_profiles", "fapiao_policies", "fapiao_requests", "fapiao_events", "fapiao_notices"}


def test_staff_list_issue_and_show_from_the_cli(db_url, capsys):
    request = file(fapiao_type="special").request
    assert fapiao_cli(["list", PARTNER]) == 0
    listed = capsys.readouterr().out
    assert request.reference in listed and "Contoso Ltd" in listed and "G000100001" in listed
    assert "age 0d" in listed and "8240.00 CNY" in listed and "special/digital" in listed
    assert "91310000MA1FL0B106" in listed and "康托索（上海）科技有限公司" in listed

    assert fapiao_cli(["issue", request.reference, "--partner", PARTNER, "--number", NUMBER_2026,
                       "--by", "Mei Chen"]) == 0
    assert capsys.readouterr().out.strip() == f"{request.reference}: issued  {NUMBER_2026} 2026-11-25"
    assert events(request.reference)[1] == ("issued", f"partner:{PARTNER}:Mei Chen")
    with session_scope() as session:
        assert [n.fapiao_number for n in news.pending_news(session, CONTOSO)] == [NUMBER_2026]

    assert fapiao_cli(["list", PARTNER]) == 0
    assert request.reference not in capsys.readouterr().out
    assert fapiao_cli(["show", request.reference.lower(), "--partner", PARTNER]) == 0
    shown = capsys.readouterr().out
    assert f"fapiao {NUMBER_2026} issued 2026-11-25" in shown and "partner:P-01:Mei Chen" in shown


def test_staff_reject_from_the_cli_and_refusals(db_url, capsys):
    request = file().request
    assert fapiao_cli(["issue", request.reference, "--partner", PARTNER, "--number", "12345678", "--by", "Li"]) == 1
    assert "(number_wrong_length)" in capsys.readouterr().err
    assert fapiao_cli(["reject", request.reference, "--partner", PARTNER, "--reason", "other", "--by", "Li"]) == 1
    assert "(note_required)" in capsys.readouterr().err
    assert fapiao_cli(["reject", request.reference, "--partner", PARTNER, "--reason", "buyer_details_mismatch",
                       "--note", "税号与营业执照不符", "--by", "Li"]) == 0
    assert capsys.readouterr().out.strip() == f"{request.reference}: rejected  buyer_details_mismatch"
    with session_scope() as session:
        [notice] = news.pending_news(session, CONTOSO)
        assert (notice.reject_reason, notice.staff_note) == ("buyer_details_mismatch", "税号与营业执照不符")


def test_another_partner_gets_not_found_from_the_cli(db_url, capsys):
    add_other_partner()
    request = file().request
    assert fapiao_cli(["list", OTHER_PARTNER]) == 0
    out = capsys.readouterr().out
    assert request.reference not in out and "No open fapiao requests for P-02." in out
    for argv in (["show", request.reference, "--partner", OTHER_PARTNER],
                 ["issue", request.reference, "--partner", OTHER_PARTNER, "--number", NUMBER_2026],
                 ["reject", request.reference, "--partner", OTHER_PARTNER, "--reason", "under_dispute"]):
        assert fapiao_cli(argv) == 1
        assert f"No fapiao request {request.reference} for partner P-02." in capsys.readouterr().err
    assert [kind for kind, _ in events(request.reference)] == ["requested"]


def test_the_policy_is_a_setting_staff_change(db_url, capsys):
    assert fapiao_cli(["policy", PARTNER]) == 0
    assert "issues within 3 business days; special yes; paper no; note -" in capsys.readouterr().out
    assert fapiao_cli(["policy", PARTNER, "--business-days", "5", "--paper", "yes", "--note", "月底前申请当月开票"]) == 0
    capsys.readouterr()
    with session_scope() as session:
        row = session.get(FapiaoPolicy, PARTNER)
        assert (row.issue_business_days, row.offers_special, row.offers_paper, row.note) == (
            5, True, True, "月底前申请当月开票")
    assert file().request.due_by.isoformat() == "2026-12-02"  # 5 business days from Wednesday 25 November
    assert fapiao_cli(["policy", PARTNER, "--business-days", "0"]) == 1
    assert fapiao_cli(["policy", "P-77"]) == 1


def test_the_cli_runs_as_a_command(db_url):
    request = file().request
    result = subprocess.run([sys.executable, "-m", "bot.fapiao", "list", PARTNER], cwd=REPO_ROOT,
                            env={**os.environ}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert request.reference in result.stdout


def test_migration_matches_the_models(db_url):
    with get_engine(db_url).connect() as connection:
        assert FAPIAO_TABLES <= set(inspect(connection).get_table_names())
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def _alembic(url: str) -> Config:
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "bot" / "db" / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def test_an_existing_database_gains_the_fapiao_tables_and_the_seed_fills_the_tax_facts(db_url):
    reset_engine()
    command.downgrade(_alembic(db_url), "0004")  # the database as it was before fapiao
    with get_engine(db_url).connect() as connection:
        assert not FAPIAO_TABLES & set(inspect(connection).get_table_names())
    command.upgrade(_alembic(db_url), "head")
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 6  # billing data kept
        assert session.scalar(select(func.count()).select_from(CustomerTaxProfile)) == 0
        # the fapiao policy, four tax profiles; four line names and four staff (0006 and 0007 went down
        # too); two support policies and three support agents (0009; the partners table stayed)
        assert seed_demo(session) == 5 + 4 + 4 + 5
    with session_scope(db_url) as session:
        assert seed_demo(session) == 0
        assert session.get(CustomerTaxProfile, CONTOSO).tax_id == "91310000MA1FL0B106"
    assert file().created
