//! CSAT and the pulse in the report, on rows written straight into a migrated database.

use super::*;
use crate::clock::db_time;
use crate::stats::{report, Filters};
use crate::store::{self, Pool};
use chrono::{Duration, TimeZone};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

async fn database() -> (tempfile::TempDir, Pool) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("satisfaction.db").display());
    let pool = store::connect(&url).await.unwrap();
    store::migrate(&pool).await.unwrap();
    (dir, pool)
}

/// A resolved ticket created `days_ago`, with a score when given.
async fn ticket(pool: &Pool, priority: &str, category: &str, days_ago: i64, csat: Option<i64>) {
    let id: i64 = sqlx::query_scalar("select coalesce(max(id), 0) + 1 from tickets")
        .fetch_one(pool)
        .await
        .unwrap();
    let created = db_time(now() - Duration::days(days_ago));
    sqlx::query(
        "insert into tickets (id, key, title, description, requester, channel, source, category, \
         priority, status, created_at, updated_at, resolved_at, csat) \
         values (?, ?, 't', 'd', 'U1', 'C01HELP', 'command', ?, ?, 'resolved', ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(format!("PLAT-{id}"))
    .bind(category)
    .bind(priority)
    .bind(&created)
    .bind(&created)
    .bind(&created)
    .bind(csat)
    .execute(pool)
    .await
    .unwrap();
}

async fn survey(pool: &Pool, days_ago: i64, audience: i64, responses: i64, mean: Option<f64>) {
    let closed = db_time(now() - Duration::days(days_ago));
    let (distribution, favourable) = match mean {
        Some(_) => (Some("[0,1,2,3,4]".to_string()), Some(0.7)),
        None => (None, None),
    };
    sqlx::query(
        "insert into surveys (question, started_at, closes_at, closed_at, audience, responses, \
         mean, distribution, favourable) values ('How?', ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&closed)
    .bind(&closed)
    .bind(&closed)
    .bind(audience)
    .bind(responses)
    .bind(mean)
    .bind(distribution)
    .bind(favourable)
    .execute(pool)
    .await
    .unwrap();
}

async fn report_of(pool: &Pool, policy: &Policy, filters: &Filters) -> Report {
    let mut conn = pool.acquire().await.unwrap();
    report(&mut conn, policy, 30, filters, now()).await.unwrap()
}

#[tokio::test]
async fn csat_is_the_mean_of_the_windows_scores_overall_by_priority_and_by_category() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    ticket(&pool, "P1", "incident", 1, Some(5)).await;
    ticket(&pool, "P1", "incident", 2, Some(2)).await;
    ticket(&pool, "P3", "general", 3, Some(4)).await;
    ticket(&pool, "P3", "general", 4, None).await;
    // Created before the window: not in the report, whenever it was answered.
    ticket(&pool, "P3", "general", 40, Some(1)).await;
    let r = report_of(&pool, &policy, &Filters::default()).await;
    assert_eq!(
        r.csat,
        Csat {
            n: 3,
            mean: Some(11.0 / 3.0)
        }
    );
    assert_eq!(
        r.by_priority["P1"].csat,
        Csat {
            n: 2,
            mean: Some(3.5)
        }
    );
    assert_eq!(
        r.by_priority["P3"].csat,
        Csat {
            n: 1,
            mean: Some(4.0)
        }
    );
    assert_eq!(r.by_priority["P2"].csat, Csat { n: 0, mean: None });
    assert_eq!(r.by_category["incident"].csat.mean, Some(3.5));
    assert_eq!(r.by_category["general"].csat.n, 1);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["by_priority"]["P1"]["csat"],
        serde_json::json!({"n": 2, "mean": 3.5})
    );
    assert_eq!(
        json["by_priority"]["P2"]["csat"],
        serde_json::json!({"n": 0, "mean": null})
    );
    let p1 = Filters {
        priority: Some("P1".into()),
        ..Filters::default()
    };
    let r = report_of(&pool, &policy, &p1).await;
    assert_eq!(
        r.csat,
        Csat {
            n: 2,
            mean: Some(3.5)
        }
    );
    assert!(!r.by_category.contains_key("general"));
}

#[tokio::test]
async fn the_pulse_is_the_latest_closed_survey_with_its_change_and_trend() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    let r = report_of(&pool, &policy, &Filters::default()).await;
    assert!(r.pulse.is_none(), "no survey closed yet");
    survey(&pool, 21, 40, 12, Some(3.5)).await;
    survey(&pool, 14, 40, 3, None).await; // under the threshold of 5
    survey(&pool, 7, 40, 10, Some(3.6)).await;
    survey(&pool, 0, 40, 20, Some(3.9)).await;
    // Still open: not a result.
    sqlx::query(
        "insert into surveys (question, started_at, closes_at, audience) values ('How?', ?, ?, 50)",
    )
    .bind(db_time(now()))
    .bind(db_time(now() + Duration::days(3)))
    .execute(&pool)
    .await
    .unwrap();
    let r = report_of(&pool, &policy, &Filters::default()).await;
    let p = r.pulse.clone().expect("a closed survey");
    assert_eq!(p.closed_at, db_time(now()));
    assert_eq!((p.audience, p.responses), (40, 20));
    assert_eq!(p.response_rate, 0.5);
    assert_eq!(p.mean, Some(3.9));
    assert_eq!(p.favourable, Some(0.7));
    assert_eq!(p.distribution, Some(vec![0, 1, 2, 3, 4]));
    assert_eq!(p.change, Some(0.3));
    let means: Vec<Option<f64>> = p.trend.iter().map(|t| t.mean).collect();
    assert_eq!(means, [Some(3.5), None, Some(3.6), Some(3.9)]);
    let json = serde_json::to_value(&r.pulse).unwrap();
    for key in [
        "closed_at",
        "audience",
        "responses",
        "response_rate",
        "mean",
        "favourable",
        "distribution",
        "change",
    ] {
        assert!(json.get(key).is_some(), "{key} missing: {json}");
    }
}

#[tokio::test]
async fn under_the_anonymity_threshold_the_pulse_shows_counts_only() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    survey(&pool, 7, 40, 12, Some(3.5)).await;
    // A latest survey with 4 answers, even if a figure was stored against the rule.
    survey(&pool, 0, 40, 4, Some(2.0)).await;
    let p = report_of(&pool, &policy, &Filters::default())
        .await
        .pulse
        .expect("a closed survey");
    assert_eq!((p.responses, p.audience), (4, 40));
    assert_eq!(p.response_rate, 0.1);
    assert_eq!((p.mean, p.favourable, p.change), (None, None, None));
    assert_eq!(p.distribution, None);
    assert_eq!(p.trend.last().unwrap().mean, None);
    let line = crate::stats::text::pulse_line(Some(&p));
    assert!(line.contains("4 of 40 answered"), "{line}");
    assert!(!line.contains("mean"), "{line}");
    // And the change needs the previous one over the threshold too.
    survey(&pool, -1, 40, 9, Some(4.0)).await;
    let p = report_of(&pool, &policy, &Filters::default())
        .await
        .pulse
        .unwrap();
    assert_eq!((p.mean, p.change), (Some(4.0), None));
}
