//! Comparisons: a real change is found with its direction, no change is found where there is
//! none, and runs of the same seeds are paired.

use crate::fixtures::synthetic_sweep;
use analysis::analyse::{Options, analyse_folder};
use analysis::compare::{compare, compare_csv, render_html, text_table};

#[test]
fn a_shallower_book_moves_sell_pressure_over_depth_and_an_identical_study_moves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("deep"), tmp.path().join("shallow"));
    synthetic_sweep(&a, &[2e7], &[1, 2, 3, 4, 5, 6], 0);
    synthetic_sweep(&b, &[2e6], &[1, 2, 3, 4, 5, 6], 0);
    let options = Options::default();
    let (sa, sb) = (analyse_folder(&a, &options).unwrap(), analyse_folder(&b, &options).unwrap());
    let c = compare(sa.clone(), sb);
    assert_eq!(c.pairs, vec![(Some(0), Some(0))], "one setting each: matched whatever the values");
    let row = c.rows.iter().find(|r| r.metric == "sell_pressure_over_depth.peak_per_day").unwrap();
    assert!(row.paired, "same seeds on both sides");
    assert!(row.moved && row.diff > 0.0 && row.ci.low > 0.0, "{row:?}");
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
    assert!(csv.starts_with("group,metric,unit,n_a,n_b,mean_a,mean_b,diff,diff_ci_low,diff_ci_high,"));

    let same = compare(sa.clone(), sa);
    assert!(same.rows.iter().all(|r| !r.moved && r.diff == 0.0), "nothing moves against itself");
}
