//! Timestamps inside `data`: the origin's contract sends ISO-8601 strings, tether's stub sends
//! milliseconds since the Unix epoch. [`Timestamp`] reads both and holds milliseconds.
//!
//! The parser accepts `YYYY-MM-DD`, then optionally `T` or a space and `HH:MM[:SS[.fraction]]`,
//! then optionally `Z` or `±HH:MM`; a time without an offset is UTC (Python's `isoformat()` of
//! a naive datetime). It is small on purpose: a date library would cost more wasm than all of
//! this module.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, in milliseconds since the Unix epoch. Serializes as that number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Parses an ISO-8601 date-time (see the module docs); `None` if it is not one or is before
    /// 1970.
    pub fn parse_iso(s: &str) -> Option<Timestamp> {
        let b = s.trim().as_bytes();
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = b.get(range)?;
            part.iter().all(u8::is_ascii_digit).then_some(())?;
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        let mut ms = days_from_civil(year, month, day) * 86_400_000;
        let mut i = 10;
        if matches!(b.get(i), Some(b'T' | b't' | b' ')) {
            let (hour, minute) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if b.get(i + 3) != Some(&b':') || hour > 23 || minute > 59 {
                return None;
            }
            ms += (hour * 60 + minute) * 60_000;
            i += 6;
            if b.get(i) == Some(&b':') {
                let second = num(i + 1..i + 3)?;
                if second > 60 {
                    return None;
                }
                ms += second * 1000;
                i += 3;
                if matches!(b.get(i), Some(b'.' | b',')) {
                    let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    if digits == 0 {
                        return None;
                    }
                    let millis: i64 = (0..3)
                        .map(|k| {
                            b.get(i + 1 + k)
                                .filter(|_| k < digits)
                                .map_or(0, |c| c - b'0')
                        })
                        .fold(0, |acc, d| acc * 10 + i64::from(d));
                    ms += millis;
                    i += 1 + digits;
                }
            }
            match b.get(i) {
                None => {}
                Some(b'Z' | b'z') if i + 1 == b.len() => {}
                Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                    let offset = (num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?) * 60_000;
                    ms -= if sign == b'+' { offset } else { -offset };
                }
                _ => return None,
            }
        } else if i != b.len() {
            return None;
        }
        u64::try_from(ms).ok().map(Timestamp)
    }

    /// Formats as ISO-8601 in UTC with milliseconds, `2026-01-01T00:00:00.000Z`.
    pub fn to_iso(self) -> String {
        let days = (self.0 / 86_400_000) as i64;
        let rest = self.0 % 86_400_000;
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            rest / 3_600_000,
            rest / 60_000 % 60,
            rest / 1000 % 60,
            rest % 1000
        )
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("milliseconds since the epoch or an ISO-8601 date-time")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                Ok(Timestamp(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                u64::try_from(v)
                    .map(Timestamp)
                    .map_err(|_| E::custom("a timestamp before 1970"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                if v.is_finite() && v >= 0.0 {
                    Ok(Timestamp(v as u64))
                } else {
                    Err(E::custom("not a timestamp"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse_iso(v).ok_or_else(|| E::custom(format!("bad date-time {v:?}")))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shapes_servers_send() {
        let p = |s| Timestamp::parse_iso(s).map(|t| t.0);
        assert_eq!(p("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(p("2026-01-01T00:00:00Z"), Some(1_767_225_600_000));
        assert_eq!(p("2026-01-01T00:00:00.123Z"), Some(1_767_225_600_123));
        assert_eq!(p("2026-01-01T00:00:00.123456"), Some(1_767_225_600_123));
        assert_eq!(p("2026-01-01T00:00:00.5"), Some(1_767_225_600_500));
        assert_eq!(p("2026-01-01 01:00:00+01:00"), Some(1_767_225_600_000));
        assert_eq!(p("2025-12-31T19:00:00-05:00"), Some(1_767_225_600_000));
        assert_eq!(p("2026-01-01T00:00"), Some(1_767_225_600_000));
        assert_eq!(p("2026-01-01"), Some(1_767_225_600_000));
        assert_eq!(p("2024-02-29T12:00:00Z"), Some(1_709_208_000_000));
    }

    #[test]
    fn refuses_what_is_not_a_date_time() {
        for s in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-01-01T25:00:00Z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+0100",
            "2026-01-01T00:00:00Zjunk",
            "1969-12-31T23:59:59Z",
            "2026-1-1",
        ] {
            assert_eq!(Timestamp::parse_iso(s), None, "{s:?}");
        }
    }

    #[test]
    fn formats_what_it_parses() {
        for ms in [0, 1_767_225_600_123, 1_709_208_000_000, 4_102_444_799_999] {
            let iso = Timestamp(ms).to_iso();
            assert_eq!(Timestamp::parse_iso(&iso), Some(Timestamp(ms)), "{iso}");
        }
        assert_eq!(
            Timestamp(1_767_225_600_123).to_iso(),
            "2026-01-01T00:00:00.123Z"
        );
    }

    #[test]
    fn deserializes_numbers_and_strings() {
        let t: Timestamp = serde_json::from_str("1767225600000").unwrap();
        assert_eq!(t.0, 1_767_225_600_000);
        let t: Timestamp = serde_json::from_str(r#""2026-01-01T00:00:00Z""#).unwrap();
        assert_eq!(t.0, 1_767_225_600_000);
        assert!(serde_json::from_str::<Timestamp>(r#""soon""#).is_err());
        assert!(serde_json::from_str::<Timestamp>("-5").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = Timestamp::parse_iso(&s);
        }
    }
}
