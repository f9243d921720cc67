//! `GET /` (the search form) and `GET /package` (a package's timeline,
//! one page of its events in log order).

use std::fmt::Write as _;

use super::event::{Backlinks, Shown};
use super::page::{esc, package_href, query};

/// The search form, filled with what was asked.
pub fn search_form(registry: &str, package: &str) -> String {
    format!(
        r#"<form class="search" action="/package" method="get" role="search">
<div class="field">
<label for="registry">Registry</label>
<input id="registry" name="registry" type="text" required value="{}" placeholder="registry.npmjs.org" autocomplete="url" spellcheck="false">
</div>
<div class="field">
<label for="package">Package</label>
<input id="package" name="package" type="text" required value="{}" placeholder="left-pad or @scope/name" spellcheck="false" autocapitalize="none">
</div>
<button type="submit">Show timeline</button>
</form>"#,
        esc(registry),
        esc(package)
    )
}

/// The body of `GET /`.
pub fn home(registries: &[String]) -> String {
    let mut out = String::from(
        "<h1>Search the log</h1>\n<p>Every stage, approval, rejection, publish, device, \
         maintainer and policy event of a package, in the order the log recorded them.</p>\n",
    );
    let first = registries.first().map(String::as_str).unwrap_or_default();
    out.push_str(&search_form(first, ""));
    if !registries.is_empty() {
        out.push_str("\n<p>Registries allowed to write to this log: ");
        let names: Vec<String> = registries
            .iter()
            .map(|r| format!("<code>{}</code>", esc(r)))
            .collect();
        out.push_str(&names.join(", "));
        out.push_str(".</p>");
    }
    out
}

/// One page of a package's timeline.
pub struct Page<'a> {
    /// The registry host.
    pub registry: &'a str,
    /// The package name.
    pub package: &'a str,
    /// Its events on this page, in log order.
    pub events: &'a [Shown],
    /// The tree size they were read at.
    pub tree_size: u64,
    /// Where this page started (`after`), if not at the beginning.
    pub after: Option<u64>,
    /// The `after` of the next page, when this one is full.
    pub next: Option<u64>,
}

/// The body of `GET /package`.
pub fn package(p: &Page<'_>) -> String {
    let mut out = format!(
        "<h1>Timeline of <code>{}</code></h1>\n<p>At registry <code>{}</code>, in a tree of \
         {} entries. Each event links to its entry: the raw leaf, its inclusion proof and a \
         check in your browser.</p>\n",
        esc(p.package),
        esc(p.registry),
        p.tree_size
    );
    out.push_str(&search_form(p.registry, p.package));
    let _ = write!(
        out,
        "\n<p class=\"count\" id=\"event-count\" data-count=\"{}\">{} event{} on this page{}.</p>\n",
        p.events.len(),
        p.events.len(),
        if p.events.len() == 1 { "" } else { "s" },
        match p.after {
            Some(a) => format!(", after entry {a}"),
            None => String::new(),
        }
    );
    if p.events.is_empty() {
        out.push_str(
            "<p>The log holds no event of this package at this registry (check the \
             spelling: names are case-sensitive).</p>\n",
        );
    }
    out.push_str(&releases(p.events));
    let back = Backlinks::of(p.events);
    out.push_str("<h2 class=\"sr-heading\">Events</h2>\n<ol class=\"timeline\">\n");
    for e in p.events {
        out.push_str(&event_item(e, &back));
    }
    out.push_str("</ol>\n");
    out.push_str(&pager(p));
    out
}

/// Each version's stage, approval, rejection and publish on this page,
/// in one row.
fn releases(events: &[Shown]) -> String {
    let mut rows: Vec<(&str, Vec<String>)> = Vec::new();
    for e in events {
        let Some(version) = e.text("version") else {
            continue;
        };
        let step = match e.kind() {
            "stage" => "staged",
            "approve" => "approved",
            "reject" => "rejected",
            "publish" if e.text("via") == Some("direct") => "published directly",
            "publish" => "published",
            "unpublish" => "unpublished",
            "deprecate" => "deprecated",
            _ => continue,
        };
        let cell = format!("{step} {}", entry_link(e.index.0));
        match rows.iter_mut().find(|(v, _)| *v == version) {
            Some((_, steps)) => steps.push(cell),
            None => rows.push((version, vec![cell])),
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h2>Releases on this page</h2>\n<table class=\"releases\">\n\
         <thead><tr><th scope=\"col\">Version</th><th scope=\"col\">Steps, in log order</th></tr></thead>\n<tbody>\n",
    );
    for (version, steps) in rows {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td></tr>",
            esc(version),
            steps.join(" → ")
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn pager(p: &Page<'_>) -> String {
    let mut links = Vec::new();
    if p.after.is_some() {
        links.push(format!(
            "<a href=\"{}\">First page</a>",
            esc(&package_href(p.registry, p.package))
        ));
    }
    if let Some(next) = p.next {
        let href = format!(
            "/package?{}",
            query(&[
                ("registry", p.registry),
                ("package", p.package),
                ("after", &next.to_string()),
            ])
        );
        links.push(format!(
            "<a rel=\"next\" href=\"{}\">Later events</a>",
            esc(&href)
        ));
    }
    if links.is_empty() {
        return String::new();
    }
    format!(
        "<nav class=\"pager\" aria-label=\"Pages\">{}</nav>\n",
        links.join(" ")
    )
}

fn entry_link(index: u64) -> String {
    format!("<a href=\"/entry/{index}\">#{index}</a>")
}

fn event_item(e: &Shown, back: &Backlinks) -> String {
    let kind = e.kind();
    let mut out = format!(
        "<li class=\"event\" id=\"e{i}\" data-index=\"{i}\" data-type=\"{k}\">\n<h3>{link} \
         <span class=\"type t-{k}\">{k}</span>",
        i = e.index.0,
        k = esc(kind),
        link = entry_link(e.index.0)
    );
    if let Some(v) = e.text("version") {
        let _ = write!(out, " <span class=\"version\">{}</span>", esc(v));
    }
    out.push_str("</h3>\n<dl>\n");
    let mut row = |term: &str, html: String| {
        let _ = writeln!(out, "<dt>{term}</dt><dd>{html}</dd>");
    };
    if let Some(problem) = &e.problem {
        row("Unreadable", esc(problem));
    }
    if let Some(who) = e.who() {
        row("Who", who);
    }
    if let Some(device) = e.device() {
        row("Device", device);
    }
    if let Some(t) = e.text("time") {
        row(
            "Registry time",
            format!("<time datetime=\"{0}\">{0}</time>", esc(t)),
        );
    }
    if e.problem.is_none() || e.logged_at > 0 {
        row("Logged", e.logged());
    }
    if let Some(i) = e.text("integrity") {
        row(
            "Integrity",
            format!("<code class=\"hash\">{}</code>", esc(i)),
        );
    }
    if let Some(via) = e.text("via") {
        row("Via", esc(via));
    }
    if let Some(tag) = e.text("dist_tag") {
        row("Dist-tag", format!("<code>{}</code>", esc(tag)));
    }
    if let Some(mode) = e.text("staged_publishing") {
        row("Staged publishing", esc(mode));
    }
    let mut links = Vec::new();
    for (label, key) in [("stage", "stage"), ("approval", "approve")] {
        if let Some(target) = e.reference(key) {
            links.push(format!("{label} {}", entry_link(target)));
        }
    }
    for (kind, from) in back.to(e.index.0) {
        let verb = match kind.as_str() {
            "approve" => "approved in",
            "reject" => "rejected in",
            "publish" => "published in",
            _ => "referred to by",
        };
        links.push(format!("{verb} {}", entry_link(*from)));
    }
    if let Some(prev) = e.prev {
        links.push(format!("previous event {}", entry_link(prev.0)));
    }
    if !links.is_empty() {
        row("Links", links.join(", "));
    }
    out.push_str("</dl>\n");
    let _ = write!(
        out,
        "<details><summary>Event JSON</summary><pre>{}</pre></details>\n</li>\n",
        e.pretty()
    );
    out
}
