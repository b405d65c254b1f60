//! The latency sparkline's geometry: where each RTT sample is drawn. Pure, so it is tested
//! natively; `header.rs` draws it as inline SVG.

/// The sparkline's drawing area, in SVG units.
pub const SPARK_W: f64 = 120.0;
/// The sparkline's height, in SVG units.
pub const SPARK_H: f64 = 30.0;

/// Where each sample goes: spread over the whole width, scaled between the lowest and highest
/// value with a margin, so a steady latency is a flat line across the middle and a single sample
/// is a flat line too.
pub fn spark_points(values: &[f64]) -> Vec<(f64, f64)> {
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let margin = 3.0;
    let y = |v: f64| {
        if (hi - lo).abs() < f64::EPSILON {
            SPARK_H / 2.0
        } else {
            SPARK_H - margin - (v - lo) / (hi - lo) * (SPARK_H - 2.0 * margin)
        }
    };
    match values {
        [] => Vec::new(),
        [only] => vec![(0.0, y(*only)), (SPARK_W, y(*only))],
        _ => {
            let step = SPARK_W / (values.len() - 1) as f64;
            values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64 * step, y(*v)))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sparkline_spans_the_width_and_scales_between_min_and_max() {
        assert!(spark_points(&[]).is_empty());
        let flat = spark_points(&[13.0]);
        assert_eq!(flat, vec![(0.0, SPARK_H / 2.0), (SPARK_W, SPARK_H / 2.0)]);
        assert!(spark_points(&[13.0, 13.0, 13.0])
            .iter()
            .all(|(_, y)| *y == SPARK_H / 2.0));
        let p = spark_points(&[10.0, 30.0, 20.0]);
        assert_eq!(
            p.iter().map(|(x, _)| *x).collect::<Vec<_>>(),
            [0.0, 60.0, 120.0]
        );
        // Higher latency is drawn higher (smaller y), inside the margins.
        assert_eq!((p[0].1, p[1].1, p[2].1), (27.0, 3.0, 15.0));
    }
}
