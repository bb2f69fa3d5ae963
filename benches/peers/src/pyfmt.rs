//! The peers' output formats, byte for byte: Python's float `repr`, the bittensor_lite final-state
//! JSON (`json.dump(doc, f, indent=1)`) and the trace CSV, so that taosim's files can be fed to
//! the peers' checker (`bittensor_lite_check.py`) and compared byte for byte with the references.

use crate::bittensor_lite::{BlConfig, RunResult, SPEC_VERSION, TraceRow, issuance_closed_form};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// Python's `repr(float)`: the shortest digits that round-trip, positional for decimal exponents
/// −4..=15 (with ".0" when there is no fraction), else `d.ddde±XX`.
pub fn repr_f64(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Rust's `{:e}` prints the shortest round-trip digits too: "-1.04072e7", "5e-1", "0e0".
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::from(sign);
    if (-4..=15).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.push_str(&"0".repeat(int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.push_str(&"0".repeat((-exponent - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.unsigned_abs());
    }
    out
}

/// A float as Python's `json` module writes it (`Infinity`, `NaN` for the non-finite).
fn json_f64(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else {
        repr_f64(x)
    }
}

fn json_list(out: &mut String, indent: &str, key: &str, values: &[f64], last: bool) {
    let _ = write!(out, "{indent}\"{key}\": [");
    if values.is_empty() {
        out.push(']');
    } else {
        for (i, v) in values.iter().enumerate() {
            let _ = write!(out, "\n{indent} {}{}", json_f64(*v), if i + 1 < values.len() { "," } else { "" });
        }
        let _ = write!(out, "\n{indent}]");
    }
    out.push_str(if last { "\n" } else { ",\n" });
}

/// The final-state JSON document, laid out as the peers' `write_final_json` writes it.
pub fn final_state_json(impl_name: &str, config: &BlConfig, runs: &[RunResult]) -> String {
    let (cf_issuance, cf_emission) = issuance_closed_form(config.blocks);
    let mut o = String::new();
    o.push_str("{\n");
    let _ = writeln!(o, " \"spec\": \"{SPEC_VERSION}\",");
    let _ = writeln!(o, " \"impl\": \"{impl_name}\",");
    let _ = writeln!(o, " \"S\": {},", config.subnets);
    let _ = writeln!(o, " \"B\": {},", config.blocks);
    let _ = writeln!(o, " \"seed\": {},", config.seed);
    let _ = writeln!(o, " \"staker_prob\": {},", json_f64(config.staker_prob));
    let _ = writeln!(o, " \"closed_form\": {{");
    let _ = writeln!(o, "  \"issuance\": {},", json_f64(cf_issuance));
    let _ = writeln!(o, "  \"block_emission\": {}", json_f64(cf_emission));
    o.push_str(" },\n");
    o.push_str(" \"runs\": [");
    if runs.is_empty() {
        o.push_str("]\n");
    } else {
        for (k, r) in runs.iter().enumerate() {
            o.push_str("\n  {\n");
            let _ = writeln!(o, "   \"run\": {},", r.run);
            let _ = writeln!(o, "   \"issuance\": {},", json_f64(r.issuance));
            let _ = writeln!(o, "   \"block_emission\": {},", json_f64(r.emission));
            json_list(&mut o, "   ", "T", &r.tao, false);
            json_list(&mut o, "   ", "A", &r.alpha, false);
            json_list(&mut o, "   ", "p", &r.prices(), false);
            json_list(&mut o, "   ", "pbar", &r.pbar, true);
            o.push_str("  }");
            if k + 1 < runs.len() {
                o.push(',');
            }
        }
        o.push_str("\n ]\n");
    }
    o.push('}');
    o
}

/// The trace CSV, laid out as the peers' `write_trace_csv` writes it.
pub fn trace_csv<'a>(rows: impl IntoIterator<Item = &'a TraceRow>) -> String {
    let mut o = String::from("run,block,issuance,block_emission,prices\n");
    for r in rows {
        let prices: Vec<String> = r.prices.iter().map(|p| repr_f64(*p)).collect();
        let _ =
            writeln!(o, "{},{},{},{},{}", r.run, r.block, repr_f64(r.issuance), repr_f64(r.emission), prices.join(" "));
    }
    o
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings are Python 3.11's `repr` of the same values.
    #[test]
    fn repr_matches_python() {
        let cases = [
            (10407200.0, "10407200.0"),
            (1.0, "1.0"),
            (0.5, "0.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (1.2345e17, "1.2345e+17"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-444.2258046334452, "-444.2258046334452"),
            (0.9504871389362746, "0.9504871389362746"),
            (100.0, "100.0"),
            (f64::INFINITY, "inf"),
        ];
        for (x, want) in cases {
            assert_eq!(repr_f64(x), want, "{x:e}");
        }
    }

    #[test]
    fn every_repr_round_trips() {
        let mut z = 0x1234_5678_9abc_def0u64;
        for _ in 0..10_000 {
            z = crate::splitmix::mix64(z.wrapping_add(crate::splitmix::GAMMA));
            let x = f64::from_bits(z);
            if x.is_finite() {
                let s = repr_f64(x);
                assert_eq!(s.parse::<f64>().map(f64::to_bits), Ok(x.to_bits()), "{s}");
            }
        }
    }

    #[test]
    fn atomic_write_leaves_only_the_file() {
        let dir = std::env::temp_dir().join(format!("taosim-peers-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("x.json");
        write_atomic(&path, b"{}").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"{}");
        assert_eq!(std::fs::read_dir(&dir).expect("ls").count(), 1);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
