"""Render a :class:`TranscriptReport` as JSON, Markdown or one self-contained HTML page.

JSON is the machine-readable truth (``model_dump_json``).  Markdown and HTML are
views of it.  Answers are untrusted text: every string that came from the
transcript is HTML-escaped (Markdown too, since Markdown viewers render inline
HTML; there it is also backslash-escaped so it cannot form a link, an image, code,
emphasis or a heading, and an answer's lines stay inside their quote), and the HTML
page carries a Content-Security-Policy that forbids scripts and any external
request, so even a missed escape could not run code or leak data.  The page needs
nothing else: inline CSS, bars as sized ``<div>`` and SVG.
"""

from __future__ import annotations

import re
from html import escape
from typing import Literal

from grader.transcripts.rollup import ItemReport, TranscriptReport, topic_summary

ReportFormat = Literal["json", "md", "html"]

_COLOURS = {
    "excellent": "#1a7f37",
    "good": "#4c9a2a",
    "partial": "#bf8700",
    "weak": "#cf4a22",
    "none": "#b42318",
}
_GREY = "#8c959f"


def render(report: TranscriptReport, fmt: ReportFormat) -> str:
    if fmt == "json":
        return report.model_dump_json(indent=2) + "\n"
    if fmt == "md":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    raise ValueError(f"unknown report format {fmt!r}: expected json, md or html")


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _candidate(report: TranscriptReport) -> str:
    name = report.candidate.get("name") or report.candidate.get("id")
    return str(name) if name else "Candidate"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _title(item: ItemReport) -> str:
    if item.match is not None:
        return f"{item.match.question_number}. {item.match.bank_question}"
    return item.questions[0] if item.questions and item.questions[0] else "(no question text)"


# --------------------------------------------------------------------------- Markdown


_MD_INLINE = re.compile(r"[\\`*_{}\[\]()#!|~]")  # links, images, code, emphasis, headings, tables
_MD_LINE_START = re.compile(r"^(\s*)([-+=]|\d+\.)")  # lists and setext underlines


def _md(text: object) -> str:
    """Untrusted text for one line of Markdown: no HTML, no Markdown syntax, no line breaks."""
    flat = " ".join(str(text).splitlines())
    return _MD_INLINE.sub(r"\\\g<0>", escape(flat, quote=False))


def _md_line(line: str) -> str:
    """One line of an untrusted block (an answer) for a ``> `` quote: nothing starts a block."""
    return _MD_LINE_START.sub(lambda m: f"{m[1]}{m[2][:-1]}\\{m[2][-1]}", _md(line))


def render_markdown(report: TranscriptReport) -> str:
    o = report.overall
    lines = [f"# Interview report: {_md(_candidate(report))}", ""]
    lines.append(
        f"**Overall: {o.percent if o.percent is not None else '–'}%** ({o.level or 'no score'}) — "
        f"{o.scored} scored ({o.graded} graded, {o.short_circuited} short-circuited), "
        f"{o.ungraded} ungraded (excluded), {o.not_graded} not graded."
    )
    lines += ["", "| # | question | match | status | score |", "|---|---|---|---|---|"]
    for i in report.items:
        match = f"{i.match.confidence:.2f}" if i.match else "–"
        score = f"{i.score:g}/{i.max_score:g}" if i.score is not None and i.max_score else "–"
        lines.append(f"| {i.item} | {_md(_title(i))} | {match} | {i.status} | {score} |")
    if report.topics:
        lines += ["", "## Topics", ""]
        lines += [
            f"- {_md(t.topic)}: {t.percent:g}% ({t.items} question(s))" for t in report.topics
        ]
    for title, found in (("Strengths", report.strengths), ("Gaps", report.gaps)):
        if found:
            lines += ["", f"## {title}", ""]
            lines += [f"- (#{f.item}) {_md(f.text)}" for f in found]
    if report.review:
        lines += ["", "## Needs human review", ""]
        lines += [f"- #{r.item}: {_md('; '.join(r.reasons))}" for r in report.review]
    lines += ["", "## Answers"]
    for i in report.items:
        lines += _md_item(i)
    return "\n".join(lines) + "\n"


def _md_item(i: ItemReport) -> list[str]:
    out = ["", f"### {i.item}. {_md(_title(i))}", ""]
    for n, q in enumerate(i.questions):
        out.append(f"*{'Follow-up' if n else 'Asked'}:* {_md(q)}  ")
    if i.match:
        out.append(f"*Match:* {i.match.method}, confidence {i.match.confidence:.2f}  ")
    out.append(f"*Status:* {i.status}" + (f" — {_md(i.reason)}" if i.reason else ""))
    out += [
        "",
        *(
            f"> {_md_line(line)}" if line else ">"
            for line in (i.answer or "(no answer)").splitlines()
        ),
    ]
    if i.result and i.result.feedback:
        fb = i.result.feedback
        out += ["", _md(fb.summary)]
        out += [f"- ✔ {_md(s)}" for s in fb.strengths]
        out += [f"- ✘ {_md(s)}" for s in fb.to_add]
        out += [f"- ⚠ {_md(s)}" for s in fb.corrections]
    return out


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:960px;margin:0 auto;padding:24px}
header{background:#fff;border:1px solid #d0d7de;border-radius:10px;padding:20px 24px;display:flex;
gap:24px;align-items:center}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}section h2{margin-top:0}
.muted{color:#59636e;font-size:13px}.big{font-size:40px;font-weight:700}
section{background:#fff;border:1px solid #d0d7de;border-radius:10px;padding:16px 20px;
margin-top:16px}
.row{display:grid;grid-template-columns:2.2em 1fr 210px 5.5em;gap:10px;align-items:center;
padding:5px 0;border-bottom:1px solid #eaeef2}
.track{background:#eaeef2;border-radius:4px;height:14px;overflow:hidden}
.fill{height:14px;border-radius:4px}
.tag{display:inline-block;font-size:12px;padding:0 6px;border-radius:8px;background:#eaeef2}
details{border:1px solid #d0d7de;border-radius:8px;margin:8px 0;padding:6px 12px;background:#fff}
summary{cursor:pointer;font-weight:600}
blockquote{white-space:pre-wrap;margin:8px 0;padding:8px 12px;background:#f6f8fa;
border-left:4px solid #d0d7de;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{text-align:left;padding:4px 6px;
border-bottom:1px solid #eaeef2;vertical-align:top}
.met{color:#1a7f37}.partial{color:#bf8700}.not_met{color:#b42318}
"""


def render_html(report: TranscriptReport) -> str:
    o = report.overall
    colour = _COLOURS.get(o.level or "", _GREY)
    facts = {**{k: v for k, v in report.candidate.items() if k != "name"}, **report.metadata}
    meta = " · ".join(f"{_e(k)}: {_e(v)}" for k, v in _flat(facts) if k != "title")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Interview report: {_e(_candidate(report))}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<header>",
        _ring(o.normalized, colour),
        f'<div><h1>{_e(_candidate(report))}</h1><div id="overall" class="big" '
        f'style="color:{colour}">{o.percent if o.percent is not None else "–"}%</div>',
        f"<div>{_e(o.level or 'no score')} · {o.scored} scored ({o.graded} graded, "
        f"{o.short_circuited} short-circuited) · {o.ungraded} ungraded (excluded from the mean) "
        f"· {o.not_graded} not graded</div>",
        f'<div class="muted">{meta}</div></div></header>',
        _html_questions(report),
        _html_topics(report),
        _html_findings(report),
        _html_review(report),
        "<h2>Answers</h2>",
        *(_html_item(i) for i in report.items),
        _footer(report),
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _flat(facts: dict[str, object], prefix: str = "") -> list[tuple[str, object]]:
    """Nested metadata as 'interview date: …' pairs."""
    out: list[tuple[str, object]] = []
    for key, value in facts.items():
        name = f"{prefix}{key}".replace("_", " ")
        if isinstance(value, dict):
            out += _flat(value, f"{name} ")
        else:
            out.append((name, value))
    return out


def _ring(normalized: float | None, colour: str) -> str:
    """The overall score as an SVG ring."""
    share = normalized or 0.0
    circ = 2 * 3.14159265 * 40
    return (
        '<svg width="110" height="110" viewBox="0 0 100 100" role="img" '
        f'aria-label="overall {_pct(normalized)}">'
        '<circle cx="50" cy="50" r="40" fill="none" stroke="#eaeef2" stroke-width="12"/>'
        f'<circle cx="50" cy="50" r="40" fill="none" stroke="{colour}" stroke-width="12" '
        f'stroke-dasharray="{share * circ:.1f} {circ:.1f}" transform="rotate(-90 50 50)"/>'
        f'<text x="50" y="56" text-anchor="middle" font-size="18" font-weight="700">'
        f"{_pct(normalized)}</text></svg>"
    )


def _bar(normalized: float | None, colour: str) -> str:
    width = 0 if normalized is None else max(0.0, min(1.0, normalized)) * 100
    return (
        f'<div class="track"><div class="fill" style="width:{width:.1f}%;'
        f'background:{colour}"></div></div>'
    )


def _html_questions(report: TranscriptReport) -> str:
    rows = []
    for i in report.items:
        colour = _COLOURS.get(i.level or "", _GREY)
        if i.status == "not_graded":
            value = '<span class="tag">not graded</span>'
        elif i.status == "ungraded":
            value = '<span class="tag">ungraded</span>'
        else:
            value = f"{i.score:g}/{i.max_score:g}" if i.max_score else "–"
        rows.append(
            f'<div class="row question"><span>{i.item}</span><span>{_e(_title(i))}</span>'
            f"{_bar(i.normalized, colour)}<span>{value}</span></div>"
        )
    return "<section><h2>Questions</h2>" + "".join(rows) + "</section>"


def _html_topics(report: TranscriptReport) -> str:
    if not report.topics:
        return ""
    strong, weak = topic_summary(report)
    rows = "".join(
        f'<div class="row"><span></span><span>{_e(t.topic)} <span class="muted">'
        f"({t.items} question(s))</span></span>{_bar(t.normalized, _level_colour(t.normalized))}"
        f"<span>{t.percent:g}%</span></div>"
        for t in report.topics
    )
    summary = ""
    if strong or weak:
        summary = (
            f'<p class="muted">Strong: {_e(", ".join(strong) or "–")}. '
            f"Weak: {_e(', '.join(weak) or '–')}.</p>"
        )
    return f"<section><h2>By topic</h2>{summary}{rows}</section>"


def _level_colour(normalized: float) -> str:
    from grader.grading.scoring import level_for

    return _COLOURS[level_for(normalized)]


def _html_findings(report: TranscriptReport) -> str:
    out = []
    for title, found in (("Strengths", report.strengths), ("Gaps", report.gaps)):
        items = "".join(f"<li>#{f.item}: {_e(f.text)}</li>" for f in found) or "<li>–</li>"
        out.append(f"<section><h2>{title}</h2><ul>{items}</ul></section>")
    return "".join(out)


def _html_review(report: TranscriptReport) -> str:
    if not report.review:
        return ""
    items = "".join(f"<li>#{r.item}: {_e('; '.join(r.reasons))}</li>" for r in report.review)
    return f"<section><h2>Needs human review</h2><ul>{items}</ul></section>"


def _html_item(i: ItemReport) -> str:
    score = f" — {i.score:g}/{i.max_score:g}" if i.score is not None and i.max_score else ""
    head = f'{i.item}. {_e(_title(i))}{score} <span class="tag">{_e(i.status)}</span>'
    body = []
    for n, q in enumerate(i.questions):
        body.append(f"<div><b>{'Follow-up' if n else 'Asked'}:</b> {_e(q)}</div>")
    if i.match:
        body.append(
            f'<div class="muted">match: {_e(i.match.method)}, confidence '
            f"{i.match.confidence:.2f}{_e(' — ' + i.match.reason) if i.match.reason else ''}</div>"
        )
    if i.reason:
        body.append(f'<div class="muted">reason: {_e(i.reason)}</div>')
    body.append(f"<blockquote>{_e(i.answer) or '<i>(no answer)</i>'}</blockquote>")
    if i.result is not None:
        body.append(_criteria_table(i))
    for note in [*i.review_reasons, *i.notes]:
        body.append(f'<div class="muted">⚠ {_e(note)}</div>')
    return f"<details><summary>{head}</summary>{''.join(body)}</details>"


def _criteria_table(i: ItemReport) -> str:
    r = i.result
    assert r is not None
    rows = "".join(
        f'<tr><td class="{v.verdict}">{_e(v.verdict.replace("_", " "))}</td>'
        f"<td>{v.awarded:g}/{v.max_points:g}</td><td>{_e(v.description)}"
        + (f'<div class="muted">“{_e(v.evidence)}”</div>' if v.evidence else "")
        + "</td></tr>"
        for v in r.criteria
    )
    rows += "".join(
        f'<tr><td class="not_met">misconception</td><td>−{m.penalty:g}</td>'
        f'<td>{_e(m.description)}<div class="muted">{_e(m.correction)}</div></td></tr>'
        for m in r.misconceptions
    )
    summary = f"<p>{_e(r.feedback.summary)}</p>" if r.feedback else ""
    return (
        f"{summary}<table><tr><th>verdict</th><th>points</th><th>criterion</th></tr>{rows}</table>"
    )


def _footer(report: TranscriptReport) -> str:
    p = report.provenance
    bits = [f"created {report.created}", f"format {report.format}"]
    bits += [f"{k} {v}" for k, v in p.items() if v]
    bits.append(f"match threshold {report.matching.get('threshold')}")
    return f'<p class="muted">{_e(" · ".join(bits))}</p>'
