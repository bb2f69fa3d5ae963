//! Fixed number formatting, so reports are the same bytes on every machine.
//!
//! CSV numbers are rounded to 10 significant digits and printed as plain decimals (no
//! exponent, no thousands separators): pandas and polars read them as floats without options.
//! Numbers in the HTML tables keep 4 significant digits with thousands separators.

/// Significant digits kept in CSV files.
pub const CSV_SIGNIFICANT_DIGITS: usize = 10;

/// `x` rounded to `digits` significant digits (through decimal text, so the result is the
/// double nearest to the rounded decimal).
pub fn round_significant(x: f64, digits: usize) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let text = format!("{:.*e}", digits.saturating_sub(1), x);
    text.parse().unwrap_or(x)
}

/// A CSV cell for a number: plain decimal, 10 significant digits, `0` for negative zero;
/// empty for NaN or infinities (pandas reads an empty cell as missing).
pub fn csv_number(x: f64) -> String {
    csv_number_digits(x, CSV_SIGNIFICANT_DIGITS)
}

/// [`csv_number`] with `digits` significant digits (bands keep fewer: they are percentiles
/// across seeds, and a sweep's bands run to millions of cells).
pub fn csv_number_digits(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let r = round_significant(x, digits);
    if r == 0.0 { "0".into() } else { format!("{r}") }
}

fn group_thousands(integer: &str) -> String {
    let (sign, digits) = integer.strip_prefix('-').map_or(("", integer), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// A number for people: 4 significant digits (all integer digits below 10^15), thousands
/// separators, exponent notation outside [1e-4, 1e15); `–` for a missing value.
pub fn display_number(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs();
    if !(1e-4..1e15).contains(&magnitude) {
        return format!("{x:.3e}");
    }
    let exponent = libm::floor(libm::log10(magnitude)) as i32;
    let decimals = (3 - exponent).max(0) as usize;
    let text = format!("{:.*}", decimals, x);
    let (integer, fraction) = text.split_once('.').map_or((text.as_str(), ""), |(i, f)| (i, f));
    let fraction = fraction.trim_end_matches('0');
    let integer = group_thousands(integer);
    if fraction.is_empty() { integer } else { format!("{integer}.{fraction}") }
}

/// A short number for legends and axis categories: SI suffix (k, M, G, T) above 10,000 with
/// up to 3 significant digits (`2M`, `2.5M`, `12.3k`), [`display_number`] below.
pub fn compact_number(x: f64) -> String {
    compact_number_digits(x, 3)
}

/// [`compact_number`] with up to `digits` significant digits above 10,000.
pub fn compact_number_digits(x: f64, digits: usize) -> String {
    let magnitude = x.abs();
    let (scale, suffix) = match magnitude {
        m if m >= 1e12 => (1e12, "T"),
        m if m >= 1e9 => (1e9, "G"),
        m if m >= 1e6 => (1e6, "M"),
        m if m >= 1e4 => (1e3, "k"),
        _ => return display_number(x),
    };
    let scaled = round_significant(x / scale, digits);
    // display_number keeps 4 significant digits: write longer mantissas in full.
    let text = if digits > 4 { format!("{scaled}") } else { display_number(scaled) };
    format!("{text}{suffix}")
}

/// A number as a percentage for people (`-12.5%`), 3 significant digits.
pub fn display_percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return "–".into();
    }
    format!("{}%", display_number(round_significant(fraction * 100.0, 3)))
}

/// Escapes text for HTML and XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_numbers_are_plain_and_rounded() {
        assert_eq!(csv_number(0.1 + 0.2), "0.3");
        assert_eq!(csv_number(15_750_025.0), "15750025");
        assert_eq!(csv_number(1e21), "1000000000000000000000");
        assert_eq!(csv_number(1.5e-7), "0.00000015");
        assert_eq!(csv_number(-0.0), "0");
        assert_eq!(csv_number(2.0 / 3.0), "0.6666666667");
        assert_eq!(csv_number(f64::NAN), "");
        assert_eq!(csv_number(f64::INFINITY), "");
    }

    #[test]
    fn display_numbers_are_short() {
        assert_eq!(display_number(15_750_025.0), "15,750,025");
        assert_eq!(display_number(1234.5678), "1,235");
        assert_eq!(display_number(0.081), "0.081");
        assert_eq!(display_number(0.123456), "0.1235");
        assert_eq!(display_number(-2.5), "-2.5");
        assert_eq!(display_number(3e-7), "3.000e-7");
        assert_eq!(display_number(f64::NAN), "–");
        assert_eq!(display_percent(-0.1234), "-12.3%");
        assert_eq!(compact_number(2e6), "2M");
        assert_eq!(compact_number(2.5e7), "25M");
        assert_eq!(compact_number(12_345.0), "12.3k");
        assert_eq!(compact_number(0.3), "0.3");
        assert_eq!(compact_number(-1_500_000.0), "-1.5M");
        assert_eq!(compact_number_digits(15_650_000.0, 4), "15.65M");
        assert_eq!(compact_number_digits(15_655_000.0, 5), "15.655M");
    }

    #[test]
    fn escaping_covers_markup_characters() {
        assert_eq!(escape(r#"a<b & "c">'d'"#), "a&lt;b &amp; &quot;c&quot;&gt;&#39;d&#39;");
    }
}
