/// The dashboard's only stylesheet, served at `/ui/static/ocs.css`: no inline styles anywhere, so
/// `Content-Security-Policy: default-src 'self'` holds without exceptions.
public enum Stylesheet {
    public static let path = "/ui/static/ocs.css"
    public static let iconPath = "/ui/static/icon.svg"

    /// The tab icon: a shield, so browsers do not ask for /favicon.ico.
    public static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M16 2 4 7v8c0 7.5 5.1 13.3 12 15 6.9-1.7 12-7.5 12-15V7z" fill="#14213d"/>\
        <path d="m10 16 4 4 8-9" fill="none" stroke="#2e8b57" stroke-width="3"/></svg>
        """

    public static let text = """
        :root { --ink: #1d2430; --muted: #5b6472; --line: #d8dde5; --bg: #f6f7f9; --accent: #1f5fbf;
          --applied: #2e8b57; --pending: #e0a526; --disabled: #8a6fbf; --blocked: #c0392b; --stale: #8c95a3; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
        header.top { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem; background: #14213d; color: #fff; }
        header.top a { color: #dfe7f5; text-decoration: none; }
        header.top a.current, header.top a:hover { color: #fff; text-decoration: underline; }
        header.top .brand { font-weight: 700; color: #fff; margin-right: 1rem; }
        header.top .who { margin-left: auto; color: #c9d3e3; display: flex; gap: .6rem; align-items: center; }
        header.top form { margin: 0; }
        main { max-width: 1600px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
        h1 { font-size: 1.5rem; margin: .2rem 0 1rem; }
        h2 { font-size: 1.1rem; margin: 1.6rem 0 .6rem; }
        a { color: var(--accent); }
        .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: .8rem; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; color: inherit; text-decoration: none; }
        a.card:hover { border-color: var(--accent); }
        .card .value { font-size: 1.8rem; font-weight: 700; }
        .card .label { color: var(--muted); }
        .card.warn .value { color: var(--blocked); }
        table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
        th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #eef1f5; font-weight: 600; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        .muted { color: var(--muted); }
        .nowrap { white-space: nowrap; }
        ul.plain { list-style: none; margin: 0; padding: 0; }
        .state { display: inline-block; padding: 0 .45rem; border-radius: 3px; font-size: .85em; background: #e5e8ee; }
        .state.published { background: #d7efe1; } .state.draft { background: #fdf0d0; } .state.retired { background: #eee; color: var(--muted); }
        .state.narrowed { background: #fbe3d6; }
        .stale-yes { color: var(--blocked); font-weight: 600; }
        svg.bar { display: block; width: 100%; height: 22px; border: 1px solid var(--line); background: #fff; }
        svg.bar rect.applied { fill: var(--applied); } svg.bar rect.pending { fill: var(--pending); }
        svg.bar rect.disabled { fill: var(--disabled); } svg.bar rect.blocked { fill: var(--blocked); }
        svg.bar rect.stale { fill: var(--stale); } svg.bar rect.empty { fill: #f0f2f5; }
        svg.bar a:hover rect { opacity: .75; }
        .legend { display: flex; flex-wrap: wrap; gap: .8rem; margin: .3rem 0 0; padding: 0; list-style: none; font-size: .9em; }
        .legend a { text-decoration: none; color: var(--ink); }
        .swatch { display: inline-block; width: .8em; height: .8em; margin-right: .3em; border-radius: 2px; vertical-align: -1px; }
        .swatch.applied { background: var(--applied); } .swatch.pending { background: var(--pending); }
        .swatch.disabled { background: var(--disabled); } .swatch.blocked { background: var(--blocked); } .swatch.stale { background: var(--stale); }
        .rule-coverage { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .7rem 1rem; margin-bottom: .7rem; }
        .rule-coverage h3 { margin: 0 0 .4rem; font-size: 1rem; }
        pre, .text { white-space: pre-wrap; word-break: break-word; }
        pre.diff { background: #fff; border: 1px solid var(--line); padding: .6rem; font: 12.5px/1.4 ui-monospace, Menlo, Consolas, monospace; }
        pre.diff .add { background: #e3f6e8; display: block; } pre.diff .del { background: #fbe4e4; display: block; }
        pre.diff .same { display: block; }
        form.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin-bottom: .8rem; }
        form.filters label { display: flex; flex-direction: column; font-size: .85em; color: var(--muted); }
        input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid #b8c0cc; border-radius: 4px; }
        button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
        button.secondary { background: #fff; color: var(--accent); }
        button.danger { background: var(--blocked); border-color: var(--blocked); }
        .actions { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; margin: .8rem 0; }
        .actions form { display: flex; gap: .4rem; align-items: end; margin: 0; }
        .notice { padding: .6rem .9rem; border-radius: 5px; margin-bottom: 1rem; background: #e6f0fb; border: 1px solid #b9d2f0; }
        .notice.error { background: #fbe9e7; border-color: #efb7ae; }
        .login { max-width: 420px; margin: 4rem auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1.5rem; }
        .login input { width: 100%; margin: .4rem 0 1rem; }
        .pager { margin-top: .8rem; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.2rem; background: #fff; border: 1px solid var(--line); padding: .8rem 1rem; }
        dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; word-break: break-word; }
        """
}
