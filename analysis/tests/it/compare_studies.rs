//! Comparisons: a real change is found with its direction, no change is found where there is
//! none, and runs of the same seeds are paired.

use crate::fixtures::synthetic_sweep;
use analysis::analyse::{Options, analyse_folder};
use analysis::compare::{CompareOptions, compare, compare_csv, ranked_rows, render_html, text_table};

#[test]
fn a_shallower_book_moves_sell_pressure_over_depth_and_an_identical_study_moves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("deep"), tmp.path().join("shallow"));
    synthetic_sweep(&a, &[2e7], &[1, 2, 3, 4, 5, 6], 0);
    synthetic_sweep(&b, &[2e6], &[1, 2, 3, 4, 5, 6], 0);
    let options = Options::default();
    let (sa, sb) = (analyse_folder(&a, &options).unwrap(), analyse_folder(&b, &options).unwrap());
    let c = compare(sa.clone(), sb, CompareOptions::default());
    assert_eq!(c.pairs, vec![(Some(0), Some(0))], "one setting each: matched whatever the values");
    let row = c.rows.iter().find(|r| r.metric == "sell_pressure_over_depth.peak_per_day").unwrap();
    assert!(row.paired, "same seeds on both sides");
    assert!(row.moved && row.diff > 0.0 && row.ci.expect("6 paired runs").low > 0.0, "{row:?}");
    assert!(row.relative.unwrap() > 5.0, "ten times less depth: {row:?}");
    let table = text_table(&c);
    assert!(table.contains("sell_pressure_over_depth.peak_per_day"));
    let html = render_html(&c);
    roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() },
    )
    .expect("compare.html is well-formed");
    assert!(html.contains("<svg"), "a forest plot");
    let csv = compare_csv(&c).unwrap();
    assert!(csv.starts_with("setting,metric,unit,n_a,n_b,mean_a,mean_b,diff,diff_ci_low,diff_ci_high,"));

    let same = compare(sa.clone(), sa, CompareOptions::default());
    assert!(same.rows.iter().all(|r| !r.moved && r.diff == 0.0), "nothing moves against itself");
}

/// Rows are ranked by relevance (key risk metrics first, in the headline's order), the
/// terminal table is bounded, and settings are named by their short labels.
#[test]
fn rows_rank_risk_metrics_first_and_the_table_is_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("deep"), tmp.path().join("shallow"));
    synthetic_sweep(&a, &[2e7, 3e7], &[1, 2, 3, 4], 16);
    synthetic_sweep(&b, &[2e7, 3e7], &[1, 2, 3, 4], 16);
    let options = Options::default();
    let (sa, sb) = (analyse_folder(&a, &options).unwrap(), analyse_folder(&b, &options).unwrap());
    let c = compare(sa, sb, CompareOptions { min_effect: 0.01, top: 10 });
    let ranked = ranked_rows(&c);
    let first_other = ranked.iter().position(|r| r.key.is_none()).expect("non-key metrics");
    assert!(first_other > 0, "key metrics come first");
    assert!(ranked[first_other..].iter().all(|r| r.key.is_none()), "no key metric after the others");
    assert!(ranked[..first_other].windows(2).all(|w| w[0].key <= w[1].key), "in the headline's order");
    assert!(ranked.iter().all(|r| r.group == "s01" || r.group == "s02"), "short labels");
    let table = text_table(&c);
    let lines: Vec<&str> = table.lines().collect();
    // Title, two settings, the header, 10 rows, "... more", the count, notes.
    assert!(lines.len() <= 1 + 2 + 1 + 10 + 2 + c.notes.len(), "{table}");
    assert!(table.contains("  s01 = ") && table.contains("more row(s) in compare.csv"), "{table}");
    // compare.csv keeps every row.
    assert_eq!(compare_csv(&c).unwrap().lines().count(), c.rows.len() + 1);
}

/// Fewer than 3 runs on a side: no interval, never "moved", and a note saying so.
#[test]
fn two_runs_a_side_give_no_interval_and_no_move() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("deep"), tmp.path().join("shallow"));
    synthetic_sweep(&a, &[2e7], &[1, 2], 0);
    synthetic_sweep(&b, &[2e6], &[1, 2], 0);
    let options = Options::default();
    let c = compare(
        analyse_folder(&a, &options).unwrap(),
        analyse_folder(&b, &options).unwrap(),
        CompareOptions::default(),
    );
    let row = c.rows.iter().find(|r| r.metric == "sell_pressure_over_depth.peak_per_day").unwrap();
    assert!(row.diff > 0.0 && row.ci.is_none() && !row.moved, "{row:?}");
    assert!(c.rows.iter().all(|r| r.ci.is_none() && !r.moved));
    assert!(c.notes.iter().any(|n| n.contains("fewer than 3 runs")), "{:?}", c.notes);
    assert!(text_table(&c).contains("n < 3"));
}
