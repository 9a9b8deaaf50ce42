//! The rule-quality and backtest page body for the workbench, as maud
//! markup (escaped by default). The workbench wraps it in its own layout;
//! its strings live here in English and Japanese.

use crate::quality::{PackQuality, RuleQuality, ServiceQuality};
use crate::run::Report;
use crate::text::{action, percent};
use maud::{html, Markup};

/// The page's words in one language.
#[derive(Debug)]
pub struct Words {
    pub title: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub candidate: &'static str,
    pub none: &'static str,
    pub run: &'static str,
    pub window: &'static str,
    pub events: &'static str,
    pub labels: &'static str,
    pub by_pack: &'static str,
    pub rules: &'static str,
    pub pack: &'static str,
    pub rule: &'static str,
    pub rule_action: &'static str,
    pub fired: &'static str,
    pub fraud: &'static str,
    pub legit: &'static str,
    pub caught: &'static str,
    pub missed: &'static str,
    pub unlabelled: &'static str,
    pub precision: &'static str,
    pub recall: &'static str,
    pub challenged: &'static str,
    pub refused: &'static str,
    pub shadow: &'static str,
    pub backtest: &'static str,
    pub changed: &'static str,
    pub both: &'static str,
    pub transitions: &'static str,
    pub before: &'static str,
    pub after: &'static str,
    pub sample: &'static str,
    pub event: &'static str,
    pub candidate_rules: &'static str,
    pub service: &'static str,
    pub all_services: &'static str,
    pub by_service: &'static str,
    pub for_service: &'static str,
    /// The page's errors, by kind (never repeating what was typed).
    pub bad_window: &'static str,
    pub no_pack: &'static str,
    pub failed: &'static str,
}

pub static EN: Words = Words {
    title: "Rule quality",
    from: "From",
    to: "To",
    candidate: "Candidate pack",
    none: "none (rule quality only)",
    run: "Run",
    window: "Window",
    events: "events",
    labels: "Labels in the log",
    by_pack: "Logged decisions by pack version",
    rules: "Rules as logged",
    pack: "Pack",
    rule: "Rule",
    rule_action: "Action",
    fired: "Fired",
    fraud: "Fraud",
    legit: "Legitimate",
    caught: "Caught",
    missed: "Missed",
    unlabelled: "Unlabelled",
    precision: "Precision",
    recall: "Recall",
    challenged: "Challenged (not fraud)",
    refused: "Refused (not fraud)",
    shadow: "shadow",
    backtest: "Backtest",
    changed: "decisions changed",
    both: "Both packs over the same events",
    transitions: "Changes",
    before: "Before",
    after: "After",
    sample: "Changed events",
    event: "Event",
    candidate_rules: "Candidate's rules",
    service: "Service",
    all_services: "all services",
    by_service: "By service (each service's own events and labels)",
    for_service: "Only the events and labels of service",
    bad_window: "The window is not valid: give From and To as RFC 3339 times or dates (YYYY-MM-DD), From before To.",
    no_pack: "No stored pack has this version.",
    failed: "The report could not be made (the log could not be read); try again later.",
};

pub static JA: Words = Words {
    title: "ルール品質",
    from: "開始",
    to: "終了",
    candidate: "候補パック",
    none: "なし（ルール品質のみ）",
    run: "実行",
    window: "期間",
    events: "件のイベント",
    labels: "ログ内のラベル",
    by_pack: "パック版ごとの記録済み判定",
    rules: "記録済みのルール",
    pack: "パック",
    rule: "ルール",
    rule_action: "アクション",
    fired: "発火",
    fraud: "不正",
    legit: "正当",
    caught: "検知",
    missed: "見逃し",
    unlabelled: "ラベルなし",
    precision: "適合率",
    recall: "再現率",
    challenged: "追加認証（不正以外）",
    refused: "拒否・保留（不正以外）",
    shadow: "シャドー",
    backtest: "バックテスト",
    changed: "件の判定が変化",
    both: "同じイベントでの両パック",
    transitions: "変化",
    before: "前",
    after: "後",
    sample: "変化したイベント",
    event: "イベント",
    candidate_rules: "候補パックのルール",
    service: "サービス",
    all_services: "全サービス",
    by_service: "サービスごと（各サービス自身のイベントとラベル）",
    for_service: "次のサービスのイベントとラベルのみ",
    bad_window: "期間が正しくありません。開始と終了を RFC 3339 の時刻か日付（YYYY-MM-DD）で、開始を終了より前にしてください。",
    no_pack: "このバージョンの保存済みパックはありません。",
    failed: "レポートを作成できませんでした（ログを読めません）。時間をおいてやり直してください。",
};

/// What the page was asked: the window, an optional stored pack version
/// to backtest and an optional service (empty strings: not given).
#[derive(Clone, Copy, Debug, Default)]
pub struct PageQuery<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub candidate: Option<&'a str>,
    pub service: Option<&'a str>,
}

/// The query form: window and an optional stored pack version to backtest.
/// `action` is where it is submitted (GET), `versions` the stored packs.
pub fn form(
    w: &Words,
    action_url: &str,
    from: &str,
    to: &str,
    versions: &[String],
    chosen: Option<&str>,
) -> Markup {
    form_for(
        w,
        action_url,
        &PageQuery {
            from,
            to,
            candidate: chosen,
            service: None,
        },
        versions,
    )
}

/// The query form with every field of `q` filled in.
pub fn form_for(w: &Words, action_url: &str, q: &PageQuery<'_>, versions: &[String]) -> Markup {
    let (from, to, chosen) = (q.from, q.to, q.candidate);
    html! {
        form.quality method="get" action=(action_url) {
            label for="q-from" { (w.from) }
            input id="q-from" name="from" type="text" value=(from) placeholder="2026-06-24" required;
            label for="q-to" { (w.to) }
            input id="q-to" name="to" type="text" value=(to) placeholder="2026-06-25" required;
            label for="q-service" { (w.service) }
            input id="q-service" name="service" type="text" value=(q.service.unwrap_or_default()) placeholder=(w.all_services);
            label for="q-pack" { (w.candidate) }
            select id="q-pack" name="candidate" {
                option value="" selected[chosen.is_none()] { (w.none) }
                @for v in versions {
                    option value=(v) selected[chosen == Some(v.as_str())] { (v) }
                }
            }
            button type="submit" { (w.run) }
        }
    }
}

fn packs(w: &Words, rows: &[&PackQuality]) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { (w.pack) } th scope="col" { (w.events) }
                th scope="col" { (w.fraud) } th scope="col" { (w.legit) }
                th scope="col" { (w.caught) } th scope="col" { "TP" } th scope="col" { "FP" }
                th scope="col" { (w.missed) } th scope="col" { (w.precision) } th scope="col" { (w.recall) }
                th scope="col" { (w.challenged) } th scope="col" { (w.refused) }
            } }
            tbody {
                @for q in rows { tr {
                    th scope="row" { (q.version) } td { (q.events) }
                    td { (q.labelled_fraud) } td { (q.labelled_legitimate) }
                    td { (q.caught) } td { (q.true_positives) } td { (q.false_positives) }
                    td { (q.misses) } td { (percent(q.precision_bp)) } td { (percent(q.recall_bp)) }
                    td { (q.friction.challenged) } td { (q.friction.refused) }
                } }
            }
        }
    }
}

/// Each service's pack rows, service first.
fn services(w: &Words, rows: &[ServiceQuality]) -> Markup {
    html! {
        table.by-service {
            thead { tr {
                th scope="col" { (w.service) } th scope="col" { (w.pack) } th scope="col" { (w.events) }
                th scope="col" { (w.fraud) } th scope="col" { (w.legit) }
                th scope="col" { (w.caught) } th scope="col" { "TP" } th scope="col" { "FP" }
                th scope="col" { (w.missed) } th scope="col" { (w.precision) } th scope="col" { (w.recall) }
                th scope="col" { (w.challenged) } th scope="col" { (w.refused) }
            } }
            tbody {
                @for s in rows { @for q in &s.packs { tr {
                    th scope="row" { code { (s.service) } } td { (q.version) } td { (q.events) }
                    td { (q.labelled_fraud) } td { (q.labelled_legitimate) }
                    td { (q.caught) } td { (q.true_positives) } td { (q.false_positives) }
                    td { (q.misses) } td { (percent(q.precision_bp)) } td { (percent(q.recall_bp)) }
                    td { (q.friction.challenged) } td { (q.friction.refused) }
                } } }
            }
        }
    }
}

fn rules(w: &Words, rows: &[RuleQuality]) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { (w.pack) } th scope="col" { (w.rule) } th scope="col" { (w.rule_action) }
                th scope="col" { (w.fired) } th scope="col" { "TP" } th scope="col" { "FP" }
                th scope="col" { (w.unlabelled) } th scope="col" { (w.precision) } th scope="col" { (w.recall) }
                th scope="col" { (w.challenged) } th scope="col" { (w.refused) }
            } }
            tbody {
                @for r in rows { tr {
                    td { (r.version) }
                    th scope="row" { code { (r.rule) } @if r.shadow { " " span.tag { (w.shadow) } } }
                    td { (r.action) } td { (r.fired) } td { (r.true_positives) } td { (r.false_positives) }
                    td { (r.unlabelled) } td { (percent(r.precision_bp)) } td { (percent(r.recall_bp)) }
                    td { (r.friction.challenged) } td { (r.friction.refused) }
                } }
            }
        }
    }
}

/// The report: window, labels, per-pack and per-rule quality, and the
/// backtest when one ran.
pub fn report(w: &Words, r: &Report) -> Markup {
    let by_pack: Vec<&PackQuality> = r.quality.packs.iter().collect();
    html! {
        section.quality aria-label=(w.title) {
            p { (w.window) " [" (r.window.from) ", " (r.window.to) "): " (r.window.events) " " (w.events) }
            @if let Some(s) = &r.service { p.service { (w.for_service) " " code { (s) } } }
            p { (w.labels) ": "
                @for (name, n) in &r.labels.by_label { code { (name) } " " (n) "; " }
            }
            h2 { (w.by_pack) }
            (packs(w, &by_pack))
            @if !r.services.is_empty() {
                h2 { (w.by_service) }
                (services(w, &r.services))
            }
            h2 { (w.rules) }
            (rules(w, &r.quality.rules))
            @if let Some(b) = &r.backtest {
                h2 { (w.backtest) ": " (b.name) " " (b.version) }
                p { (b.state) }
                p { (b.changed) " / " (b.decided) " " (w.changed) }
                h3 { (w.both) }
                (packs(w, &[&b.logged, &b.candidate]))
                @if !b.transitions.is_empty() {
                    h3 { (w.transitions) }
                    table {
                        thead { tr { th scope="col" { (w.before) } th scope="col" { (w.after) } th scope="col" { (w.events) }
                            th scope="col" { (w.fraud) } th scope="col" { (w.legit) } th scope="col" { (w.unlabelled) } } }
                        tbody { @for t in &b.transitions { tr {
                            td { (action(t.from)) } td { (action(t.to)) } td { (t.events) }
                            td { (t.fraud) } td { (t.legitimate) } td { (t.unlabelled) }
                        } } }
                    }
                }
                @if !b.sample.is_empty() {
                    h3 { (w.sample) }
                    table {
                        thead { tr { th scope="col" { (w.event) } th scope="col" { (w.before) } th scope="col" { (w.after) } th scope="col" { (w.labels) } } }
                        tbody { @for c in &b.sample { tr {
                            th scope="row" { code { (c.service) " " (c.event_id) } " " (c.event_type) " " (c.at) }
                            td { (action(c.from)) " " (c.rules_before.join(", ")) }
                            td { (action(c.to)) " " (c.rules_after.join(", ")) }
                            td { (c.label.map(|l| l.name()).unwrap_or("-")) }
                        } } }
                    }
                }
                h3 { (w.candidate_rules) }
                (rules(w, &b.rules))
            }
        }
    }
}

/// An error in the page's language, by kind; the detail (which may repeat
/// what was typed) stays out of the page.
pub fn error_text(w: &Words, e: &crate::Error) -> &'static str {
    match e {
        crate::Error::Window(_) => w.bad_window,
        crate::Error::NoPack(_) => w.no_pack,
        _ => w.failed,
    }
}

/// The stored pack versions, in version order.
pub fn stored_versions(store: &sekimori_store::Store) -> Result<Vec<String>, crate::Error> {
    Ok(store.packs()?.into_iter().map(|(v, _)| v).collect())
}

/// A stored pack version, compiled: the UI's candidate (never a path).
pub fn stored_pack(
    store: &sekimori_store::Store,
    version: &str,
) -> Result<std::sync::Arc<sekimori_rules::Pack>, crate::Error> {
    let record = sekimori_ledger::pack_record(store, version)?
        .ok_or_else(|| crate::Error::NoPack(version.to_string()))?;
    sekimori_rules::compile(record.source)
        .map(std::sync::Arc::new)
        .map_err(|e| crate::Error::Corrupt(format!("stored pack {version}: {} errors", e.len())))
}

/// The whole page body for a query: the form, then the report or the
/// error. `from` and `to` empty: the form alone. Blocks (it reads and
/// may replay the log): call it on a blocking thread, one at a time.
pub fn page_body(
    store: &sekimori_store::Store,
    w: &Words,
    action_url: &str,
    from: &str,
    to: &str,
    candidate: Option<&str>,
) -> Markup {
    let q = PageQuery {
        from,
        to,
        candidate,
        service: None,
    };
    page_body_for(store, w, action_url, &q)
}

/// The report a query asks for (the page's and the REST API's): `None`
/// when neither time is given.
pub fn report_for(
    store: &sekimori_store::Store,
    q: &PageQuery<'_>,
    sample: usize,
) -> Option<Result<Report, crate::Error>> {
    if q.from.is_empty() && q.to.is_empty() {
        return None;
    }
    let candidate = q.candidate.filter(|c| !c.is_empty());
    let service = q.service.map(str::trim).filter(|s| !s.is_empty());
    Some(crate::Window::parse(q.from, q.to).and_then(|window| {
        let candidate = candidate.map(|v| stored_pack(store, v)).transpose()?;
        crate::run(
            store,
            &crate::Request {
                window,
                candidate,
                sample,
                service: service.map(str::to_string),
            },
        )
    }))
}

/// [`page_body`] for every field of a [`PageQuery`] (the service too).
pub fn page_body_for(
    store: &sekimori_store::Store,
    w: &Words,
    action_url: &str,
    q: &PageQuery<'_>,
) -> Markup {
    let q = PageQuery {
        candidate: q.candidate.filter(|c| !c.is_empty()),
        service: q.service.map(str::trim).filter(|s| !s.is_empty()),
        ..*q
    };
    let versions = stored_versions(store).unwrap_or_default();
    let form = form_for(w, action_url, &q, &versions);
    let Some(result) = report_for(store, &q, 50) else {
        return html! { h1 { (w.title) } (form) };
    };
    html! {
        h1 { (w.title) }
        (form)
        @match result {
            Ok(r) => (report(w, &r)),
            Err(e) => p.error role="alert" { (error_text(w, &e)) },
        }
    }
}
