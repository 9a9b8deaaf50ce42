//! Part 5's page: rule quality and backtests, for supervisors.

use super::*;

#[tokio::test]
async fn the_rule_quality_page_is_for_supervisors_and_reports_the_window() {
    let b = Bench::new();
    held_transfer(&b).await;
    let sue = b.analyst("sue", Role::Supervisor);
    let aiko = b.analyst("aiko", Role::Analyst);
    let (sue, _) = b.sign_in("sue", &sue).await;
    let (aiko, _) = b.sign_in("aiko", &aiko).await;

    // An analyst neither sees the link nor gets the page.
    let (_, _, queue) = b.get("/ui/queue", &aiko).await;
    assert!(!queue.contains(r#"href="/ui/quality""#), "{queue}");
    let (status, _, _) = b.get("/ui/quality", &aiko).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A supervisor gets the form, then the report of a window.
    let (_, _, queue) = b.get("/ui/queue", &sue).await;
    assert!(queue.contains(r#"href="/ui/quality""#), "{queue}");
    let (status, _, form) = b.get("/ui/quality", &sue).await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert!(form.contains("Rule quality"), "{form}");
    assert!(form.contains(r#"action="/ui/quality""#), "{form}");
    let (status, _, report) = b
        .get(
            "/ui/quality?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z",
            &sue,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    // The held transfer's rules are in the window's report.
    assert!(report.contains("<table"), "{report}");

    // Not signed in: the sign-in page, never the report.
    let (status, _, _) = b.get("/ui/quality?from=2026-11-23T00:00:00Z", "").await;
    assert_ne!(status, StatusCode::OK);
}
