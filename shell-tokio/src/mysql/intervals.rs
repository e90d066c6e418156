//! Date arithmetic and parsing: `DATE_ADD` / `DATE_SUB` / `ADDDATE` / `SUBDATE` (the
//! translator turns `INTERVAL n UNIT` into the arguments `n, 'UNIT'`) and `STR_TO_DATE`.

use super::datetime::DateTime;

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `d` moved by `n` units; `None` for an unknown unit or a result out of range.
/// Month arithmetic clamps the day to the month's last day, as MySQL does.
pub fn add_interval(d: DateTime, n: i64, unit: &str) -> Option<DateTime> {
    let micros = |us: i64| -> Option<DateTime> {
        let total = (d.unix() as i128) * 1_000_000 + d.us as i128 + us as i128;
        let secs = total.div_euclid(1_000_000) as i64;
        let mut out = DateTime::from_unix(secs);
        out.us = total.rem_euclid(1_000_000) as u32;
        Some(out)
    };
    let months = |m: i64| -> Option<DateTime> {
        let total = d.y * 12 + (d.mo as i64 - 1) + m;
        let (y, mo) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
        (0..=9999).contains(&y).then(|| DateTime { y, mo, d: d.d.min(days_in_month(y, mo)), ..d })
    };
    match unit.to_ascii_uppercase().as_str() {
        "MICROSECOND" => micros(n),
        "SECOND" => micros(n.checked_mul(1_000_000)?),
        "MINUTE" => micros(n.checked_mul(60_000_000)?),
        "HOUR" => micros(n.checked_mul(3_600_000_000)?),
        "DAY" => micros(n.checked_mul(86_400_000_000)?),
        "WEEK" => micros(n.checked_mul(7 * 86_400_000_000)?),
        "MONTH" => months(n),
        "QUARTER" => months(n.checked_mul(3)?),
        "YEAR" => months(n.checked_mul(12)?),
        _ => None,
    }
}

/// The fields of a compound interval unit, largest first (`DAY_MINUTE` → day, hour,
/// minute), each as (months, microseconds) per unit; `None` for another unit.
pub fn compound_parts(unit: &str) -> Option<&'static [(i64, i64)]> {
    const Y: (i64, i64) = (12, 0);
    const MO: (i64, i64) = (1, 0);
    const D: (i64, i64) = (0, 86_400_000_000);
    const H: (i64, i64) = (0, 3_600_000_000);
    const MI: (i64, i64) = (0, 60_000_000);
    const S: (i64, i64) = (0, 1_000_000);
    const US: (i64, i64) = (0, 1);
    Some(match unit.to_ascii_uppercase().as_str() {
        "YEAR_MONTH" => &[Y, MO],
        "DAY_HOUR" => &[D, H],
        "DAY_MINUTE" => &[D, H, MI],
        "DAY_SECOND" => &[D, H, MI, S],
        "DAY_MICROSECOND" => &[D, H, MI, S, US],
        "HOUR_MINUTE" => &[H, MI],
        "HOUR_SECOND" => &[H, MI, S],
        "HOUR_MICROSECOND" => &[H, MI, S, US],
        "MINUTE_SECOND" => &[MI, S],
        "MINUTE_MICROSECOND" => &[MI, S, US],
        "SECOND_MICROSECOND" => &[S, US],
        _ => return None,
    })
}

/// `d` moved by a compound interval (`'1 2:30' DAY_MINUTE`): the value's numbers fill the
/// unit's fields from the right, as MySQL reads them (`'5' MINUTE_SECOND` is five
/// seconds); a leading `-` makes them all negative; microseconds are a fraction
/// (`'1.5' SECOND_MICROSECOND` is 1.5 seconds).
pub fn add_compound(d: DateTime, value: &str, unit: &str) -> Option<DateTime> {
    let parts = compound_parts(unit)?;
    let value = value.trim();
    let (negative, value) = value.strip_prefix('-').map_or((false, value), |v| (true, v.trim_start()));
    let mut numbers: Vec<&str> = value.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()).collect();
    if numbers.is_empty() || numbers.len() > parts.len() {
        return None;
    }
    let last_is_micros = parts.last() == Some(&(0, 1));
    let mut fields: Vec<i64> = Vec::with_capacity(numbers.len());
    let count = numbers.len();
    for (i, n) in numbers.drain(..).enumerate() {
        let is_micros = last_is_micros && i == count - 1 && count == parts.len();
        fields.push(if is_micros {
            // A fraction of a second: its digits padded to six.
            format!("{:0<6}", &n[..n.len().min(6)]).parse().ok()?
        } else {
            n.parse().ok()?
        });
    }
    let sign = if negative { -1 } else { 1 };
    let (mut months, mut micros) = (0i64, 0i64);
    for (value, (m, us)) in fields.iter().zip(&parts[parts.len() - fields.len()..]) {
        months = months.checked_add(value.checked_mul(*m)?)?;
        micros = micros.checked_add(value.checked_mul(*us)?)?;
    }
    let moved = add_interval(d, sign * months, "MONTH")?;
    add_interval(moved, sign * micros, "MICROSECOND")
}

/// MySQL's text for a computed date: a date stays a date when only whole days moved.
pub fn render(d: &DateTime, had_time: bool, unit: &str) -> String {
    let dayish =
        matches!(unit.to_ascii_uppercase().as_str(), "DAY" | "WEEK" | "MONTH" | "QUARTER" | "YEAR" | "YEAR_MONTH");
    if !had_time && dayish {
        format!("{:04}-{:02}-{:02}", d.y, d.mo, d.d)
    } else if d.us != 0 {
        format!("{}.{:06}", d.to_mysql(), d.us)
    } else {
        d.to_mysql()
    }
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// MySQL `STR_TO_DATE(s, fmt)`: a date (`YYYY-MM-DD`) when the format has no time parts,
/// else a datetime; `None` when `s` does not match.
pub fn str_to_date(s: &str, fmt: &str) -> Option<String> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut sec, mut us) = (0i64, 0u32, 0u32, 0u32, 0u32, 0u32, 0u32);
    let (mut has_time, mut pm) = (false, None::<bool>);
    let src: Vec<char> = s.chars().collect();
    let mut i = 0;
    let number = |i: &mut usize, max: usize| -> Option<i64> {
        let start = *i;
        while *i < src.len() && *i - start < max && src[*i].is_ascii_digit() {
            *i += 1;
        }
        src[start..*i].iter().collect::<String>().parse().ok()
    };
    let mut f = fmt.chars();
    while let Some(c) = f.next() {
        if c != '%' {
            if src.get(i) != Some(&c) {
                return None;
            }
            i += 1;
            continue;
        }
        match f.next()? {
            'Y' => y = number(&mut i, 4)?,
            'y' => y = 2000 + number(&mut i, 2)?,
            'm' | 'c' => mo = number(&mut i, 2)? as u32,
            'd' | 'e' => d = number(&mut i, 2)? as u32,
            'H' | 'k' | 'h' | 'I' | 'l' => {
                h = number(&mut i, 2)? as u32;
                has_time = true;
            }
            'i' => {
                mi = number(&mut i, 2)? as u32;
                has_time = true;
            }
            's' | 'S' => {
                sec = number(&mut i, 2)? as u32;
                has_time = true;
            }
            'f' => {
                let start = i;
                let v = number(&mut i, 6)?;
                us = (v * 10i64.pow(6 - (i - start) as u32)) as u32;
                has_time = true;
            }
            'p' => {
                let word: String = src.get(i..i + 2)?.iter().collect::<String>().to_ascii_uppercase();
                pm = Some(word == "PM");
                i += 2;
            }
            'M' | 'b' => {
                let rest: String = src[i..].iter().collect::<String>().to_ascii_lowercase();
                let m = MONTHS.iter().position(|m| rest.starts_with(m))?;
                mo = m as u32 + 1;
                i += 3;
                while i < src.len() && src[i].is_ascii_alphabetic() {
                    i += 1;
                }
            }
            'T' => {
                h = number(&mut i, 2)? as u32;
                (src.get(i) == Some(&':')).then_some(())?;
                i += 1;
                mi = number(&mut i, 2)? as u32;
                (src.get(i) == Some(&':')).then_some(())?;
                i += 1;
                sec = number(&mut i, 2)? as u32;
                has_time = true;
            }
            '%' => {
                (src.get(i) == Some(&'%')).then_some(())?;
                i += 1;
            }
            _ => return None,
        }
    }
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    if mo > 12 || d > 31 || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let date = format!("{y:04}-{mo:02}-{d:02}");
    Some(match (has_time, us) {
        (false, _) => date,
        (true, 0) => format!("{date} {h:02}:{mi:02}:{sec:02}"),
        (true, us) => format!("{date} {h:02}:{mi:02}:{sec:02}.{us:06}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(s: &str, n: i64, unit: &str) -> String {
        let d = DateTime::parse(s).unwrap();
        render(&add_interval(d, n, unit).unwrap(), s.len() > 10, unit)
    }

    #[test]
    fn intervals_follow_mysql() {
        assert_eq!(add("2024-01-31", 1, "MONTH"), "2024-02-29");
        assert_eq!(add("2024-03-01", -1, "DAY"), "2024-02-29");
        assert_eq!(add("2024-12-31 23:59:59", 1, "SECOND"), "2025-01-01 00:00:00");
        assert_eq!(add("2024-01-01", 90, "MINUTE"), "2024-01-01 01:30:00");
        assert_eq!(add("2023-02-28", 1, "YEAR"), "2024-02-28");
        assert_eq!(add("2024-05-10", 2, "WEEK"), "2024-05-24");
        assert!(add_interval(DateTime::parse("2024-01-01").unwrap(), 1, "FORTNIGHT").is_none());
    }

    #[test]
    fn compound_intervals_fill_their_fields_from_the_right() {
        let at = |v: &str, unit: &str| {
            let d = DateTime::parse("1997-12-31 23:59:59").unwrap();
            add_compound(d, v, unit).map(|d| render(&d, true, unit))
        };
        assert_eq!(at("1:1", "MINUTE_SECOND").as_deref(), Some("1998-01-01 00:01:00"));
        assert_eq!(at("1 1:1:1", "DAY_SECOND").as_deref(), Some("1998-01-02 01:01:00"));
        assert_eq!(at("1 1", "YEAR_MONTH").as_deref(), Some("1999-01-31 23:59:59"));
        assert_eq!(at("-1 1", "YEAR_MONTH").as_deref(), Some("1996-11-30 23:59:59"));
        assert_eq!(at("5", "MINUTE_SECOND").as_deref(), Some("1998-01-01 00:00:04"));
        assert_eq!(at("1.5", "SECOND_MICROSECOND").as_deref(), Some("1998-01-01 00:00:00.500000"));
        assert_eq!(at("1:2:3:4", "MINUTE_SECOND"), None);
    }

    #[test]
    fn str_to_date_parses_common_formats() {
        assert_eq!(str_to_date("01,5,2013", "%d,%m,%Y").as_deref(), Some("2013-05-01"));
        assert_eq!(str_to_date("May 1, 2013", "%M %d,%Y").as_deref(), None, "space before %Y missing in format");
        assert_eq!(str_to_date("May 1, 2013", "%M %d, %Y").as_deref(), Some("2013-05-01"));
        assert_eq!(
            str_to_date("2024-02-29 01:02:03 PM", "%Y-%m-%d %h:%i:%s %p").as_deref(),
            Some("2024-02-29 13:02:03")
        );
        assert_eq!(str_to_date("a", "%Y"), None);
    }
}
