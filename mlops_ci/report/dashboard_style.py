"""The dashboard's one inline style sheet (no fonts or files fetched: it opens offline)."""

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328}
body{background:#f6f8fa}
main{max-width:1360px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
h3{font-size:15px;margin:18px 0 6px}
section.model{background:#fff;border:1px solid #d0d7de;border-radius:8px;margin:18px 0}
section.model{padding:8px 20px 20px}
/* columns at least as wide as a chart's units (svg.LINE_WIDTH): no text drawn smaller */
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,400px),1fr))}
.grid{gap:12px}
section.model > svg.chart{max-width:760px}
svg.chart{width:100%;height:auto;background:#fff;border:1px solid #eaeef2;border-radius:6px}
svg .heading{font-size:13px;font-weight:600;fill:#1f2328}
svg .tick{font-size:12px;fill:#57606a}
svg .axis{stroke:#8c959f;stroke-width:1}
svg .line{fill:none;stroke:#2f7ed8;stroke-width:1.6}
svg .dot{fill:#2f7ed8}
svg .limit{stroke:#d64545;stroke-width:1;stroke-dasharray:5 4}
svg .track{fill:#eaeef2}
table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.muted{color:#57606a}
"""
