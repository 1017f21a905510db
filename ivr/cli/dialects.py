"""`silverline dialects check`: what each recorded dialect pack is missing (dialects/check.py)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from dialects.check import check, recorded_packs
from dialects.packs import default_packs

STATUSES = ("recorded", "composed", "spoken", "broken")


@click.group()
def dialects() -> None:
    """Dialect packs: their recordings (docs/dialect-audio.md)."""


@dialects.command("check")
@click.argument("codes", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a list.")
@click.option("--strict", is_flag=True, help="Exit 1 unless every prompt plays a recording.")
def check_command(codes: tuple[str, ...], as_json: bool, strict: bool) -> None:
    """List, prompt by prompt, what the packs without TTS play (all of them by default)."""
    packs = default_packs()
    chosen = list(codes) or recorded_packs(packs)
    unknown = [c for c in chosen if c not in packs.codes]
    if unknown:
        raise click.BadParameter(f"no pack {unknown[0]!r}; packs: {', '.join(packs.codes)}")
    found = {code: check(packs, code) for code in chosen}
    if as_json:
        click.echo(json.dumps({c: [asdict(f) for f in fs] for c, fs in found.items()},
                              ensure_ascii=False))  # fmt: skip
    else:
        for code, findings in found.items():
            counts = {s: sum(f.status == s for f in findings) for s in STATUSES}
            click.echo(f"{code}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
            for f in findings:
                if f.status in {"spoken", "broken"}:
                    click.echo(f"  {f.status:<7} {f.prompt}: {f.detail}  «{f.text}»")
    if strict and any(f.status in {"spoken", "broken"} for fs in found.values() for f in fs):
        raise SystemExit(1)
