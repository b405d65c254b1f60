//! The `BENCH|…` lines scripts/bench.sh turns into BENCHMARKS.md:
//! `BENCH|name|value|spread|baseline|spread|unit|runs|limited by|notes`, where a value is the
//! median of its runs and its spread is `min–max` (empty for a single measurement).

use wasm_bindgen_test::console_log;

/// The median of `runs` (the lower middle one for an even count).
pub fn median(runs: &[f64]) -> f64 {
    let mut v = runs.to_vec();
    v.sort_by(f64::total_cmp);
    v[(v.len() - 1) / 2]
}

/// `p` (0..=1) of `values`, nearest rank below.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p) as usize]
}

/// A number with as many decimals as its size deserves.
pub fn num(v: f64) -> String {
    let a = v.abs();
    if a < 0.005 {
        "0".to_owned()
    } else if a >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn spread(runs: &[f64]) -> String {
    if runs.len() < 2 {
        return String::new();
    }
    let lo = runs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{}–{}", num(lo), num(hi))
}

/// One benchmark line: the runs of the value and of its baseline, measured in this run.
pub fn report(name: &str, value: &[f64], baseline: &[f64], unit: &str, limit: &str, note: &str) {
    let runs = if value.len() == baseline.len() {
        if value.len() == 1 {
            "1".to_owned()
        } else {
            format!("{} each", value.len())
        }
    } else {
        format!("{} / {}", value.len(), baseline.len())
    };
    console_log!(
        "BENCH|{name}|{}|{}|{}|{}|{unit}|{runs}|{limit}|{note}",
        num(median(value)),
        spread(value),
        num(median(baseline)),
        spread(baseline),
    );
}
