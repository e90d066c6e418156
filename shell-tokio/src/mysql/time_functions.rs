//! MySQL's functions of TIME values (durations that may pass 24 hours or be negative):
//! TIMEDIFF (SQLite's own prints `+0000-00-00 01:30:00.000`), ADDTIME, SUBTIME, MAKETIME,
//! TIME_FORMAT, and TIMESTAMP(d [, t]). A time is held as signed microseconds. Also the
//! period functions PERIOD_ADD / PERIOD_DIFF (periods are `YYMM` or `YYYYMM` numbers).

use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;

use super::datetime::{civil_from_days, DateTime};
use super::functions::text;

const US_PER_SEC: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US_PER_SEC;
/// The largest TIME, 838:59:59: MySQL clips times to ± this.
const MAX_TIME: i64 = (838 * 3600 + 59 * 60 + 59) * US_PER_SEC;

/// Months since year 0 of a period (`YYMM`: 70–99 are 19xx, the rest 20xx).
fn period_months(p: i64) -> i64 {
    let (mut year, month) = (p / 100, p % 100);
    if year < 100 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    year * 12 + month - 1
}

/// A time clipped to TIME's range.
fn clip(t: i64) -> i64 {
    t.clamp(-MAX_TIME, MAX_TIME)
}

/// A TIME value as MySQL reads it: `[-][D ]H[:MM[:SS[.ffffff]]]`, microseconds.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |rest| (true, rest));
    let (days, hms) = match s.split_once(' ') {
        Some((d, t)) => (d.parse::<i64>().ok()?, t),
        None => (0, s),
    };
    let (hms, frac) = hms.split_once('.').unwrap_or((hms, ""));
    let mut parts = hms.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let sec: i64 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    if parts.next().is_some() || m > 59 || sec > 59 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = frac.chars().take(6).collect();
    let us: i64 = format!("{digits:0<6}").parse().ok()?;
    // Hours past TIME's range clip (in i128: `H` may have any number of digits).
    let total = (((i128::from(days) * 24 + i128::from(h)) * 3600 + i128::from(m * 60 + sec)) * i128::from(US_PER_SEC)
        + i128::from(us))
    .min(i128::from(MAX_TIME)) as i64;
    Some(if neg { -total } else { total })
}

/// A datetime as microseconds since the Unix epoch (a value with a date part only).
fn parse_datetime(s: &str) -> Option<i64> {
    if !s.trim().contains('-') || s.trim().starts_with('-') {
        return None;
    }
    let d = DateTime::parse(s).filter(|d| (0..=9999).contains(&d.y))?;
    Some(d.unix() * US_PER_SEC + i64::from(d.us))
}

/// Microseconds as `.ffffff` without trailing zeros (nothing for a whole second).
fn fraction(us: i64) -> String {
    if us == 0 {
        return String::new();
    }
    format!(".{us:06}").trim_end_matches('0').to_string()
}

/// A TIME as MySQL prints it: `[-]HH:MM:SS[.f]`, hours past 24 as they are.
fn format_time(t: i64) -> String {
    let a = t.unsigned_abs() as i64;
    let secs = a / US_PER_SEC;
    let sign = if t < 0 { "-" } else { "" };
    format!("{sign}{:02}:{:02}:{:02}{}", secs / 3600, secs % 3600 / 60, secs % 60, fraction(a % US_PER_SEC))
}

/// A datetime (microseconds since the epoch) as `YYYY-MM-DD HH:MM:SS[.f]`.
fn format_datetime(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(US_PER_DAY));
    let r = t.rem_euclid(US_PER_DAY);
    let secs = r / US_PER_SEC;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}{}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        fraction(r % US_PER_SEC)
    )
}

/// ADDTIME / SUBTIME: a datetime or a time moved by a time.
fn add_time(base: &str, delta: &str, sign: i64) -> Option<String> {
    let delta = sign * parse_time(delta)?;
    match parse_datetime(base) {
        Some(at) => Some(format_datetime(at + delta)),
        None => Some(format_time(clip(parse_time(base)? + delta))),
    }
}

/// TIME_FORMAT: DATE_FORMAT's hour, minute and second specifiers on a time (hours past 24
/// kept by `%H` and `%k`).
fn time_format(t: i64, fmt: &str) -> String {
    let a = t.unsigned_abs() as i64;
    let secs = a / US_PER_SEC;
    let Ok(h) = u32::try_from(secs / 3600) else { return String::new() };
    let (mi, s, us) = ((secs % 3600 / 60) as u32, (secs % 60) as u32, (a % US_PER_SEC) as u32);
    let shown = DateTime { y: 0, mo: 1, d: 1, h, mi, s, us }.format(fmt);
    if t < 0 {
        format!("-{shown}")
    } else {
        shown
    }
}

/// Register the functions on a connection.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let det = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("period_add", 2, det, |ctx| {
        let (Some(p), Some(n)) = (super::functions::int(ctx, 0), super::functions::int(ctx, 1)) else {
            return Ok(None);
        };
        if p == 0 {
            return Ok(Some(0));
        }
        let months = period_months(p) + n;
        Ok(Some(months.div_euclid(12) * 100 + months.rem_euclid(12) + 1))
    })?;
    conn.create_scalar_function("period_diff", 2, det, |ctx| {
        let (Some(a), Some(b)) = (super::functions::int(ctx, 0), super::functions::int(ctx, 1)) else {
            return Ok(None);
        };
        Ok(Some(period_months(a) - period_months(b)))
    })?;
    conn.create_scalar_function("timediff", 2, det, |ctx| {
        let (Some(a), Some(b)) = (text(ctx, 0), text(ctx, 1)) else { return Ok(None) };
        // Two datetimes or two times; one of each is NULL, as in MySQL.
        Ok(match (parse_datetime(&a), parse_datetime(&b)) {
            (Some(x), Some(y)) => Some(format_time(clip(x.saturating_sub(y)))),
            (None, None) => parse_time(&a).zip(parse_time(&b)).map(|(x, y)| format_time(clip(x - y))),
            _ => None,
        })
    })?;
    for (name, sign) in [("addtime", 1), ("subtime", -1)] {
        conn.create_scalar_function(name, 2, det, move |ctx| {
            let (Some(base), Some(delta)) = (text(ctx, 0), text(ctx, 1)) else { return Ok(None) };
            Ok(add_time(&base, &delta, sign))
        })?;
    }
    conn.create_scalar_function("maketime", 3, det, |ctx| {
        let (Some(h), Some(m), Some(s)) = (text(ctx, 0), text(ctx, 1), text(ctx, 2)) else { return Ok(None) };
        let (Ok(h), Ok(m), Ok(s)) = (h.trim().parse::<i64>(), m.trim().parse::<i64>(), s.trim().parse::<f64>()) else {
            return Ok(None);
        };
        if !(0..60).contains(&m) || !(0.0..60.0).contains(&s) {
            return Ok(None);
        }
        let t =
            (h.unsigned_abs().min(839) as i64 * 3600 + m * 60) * US_PER_SEC + (s * US_PER_SEC as f64).round() as i64;
        Ok(Some(format_time(clip(if h < 0 { -t } else { t }))))
    })?;
    conn.create_scalar_function("time_format", 2, det, |ctx| {
        let (Some(t), Some(fmt)) = (text(ctx, 0), text(ctx, 1)) else { return Ok(None) };
        let t = parse_datetime(&t).map(|at| at.rem_euclid(US_PER_DAY)).or_else(|| parse_time(&t));
        Ok(t.map(|t| time_format(t, &fmt)))
    })?;
    conn.create_scalar_function("timestamp", 1, det, |ctx| {
        Ok(text(ctx, 0).and_then(|d| parse_datetime(&d)).map(format_datetime))
    })?;
    conn.create_scalar_function("timestamp", 2, det, |ctx| {
        let (Some(d), Some(t)) = (text(ctx, 0), text(ctx, 1)) else { return Ok(None) };
        Ok(parse_datetime(&d).zip(parse_time(&t)).map(|(at, t)| format_datetime(at + t)))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_match_mariadb() {
        let c = Connection::open_in_memory().unwrap();
        register(&c).unwrap();
        let eval = |sql: &str| -> Option<String> { c.query_row(&format!("SELECT {sql}"), [], |r| r.get(0)).unwrap() };
        // Each expected value is what MariaDB 10.11 printed for the same call.
        assert_eq!(eval("timediff('2024-01-01 10:00:00', '2024-01-01 08:30:00')").unwrap(), "01:30:00");
        assert_eq!(eval("timediff('08:00:00', '10:30:15.5')").unwrap(), "-02:30:15.5");
        assert_eq!(eval("timediff('08:00:00', '2024-01-01 08:30:00')"), None);
        assert_eq!(eval("maketime(12, 15, 30)").unwrap(), "12:15:30");
        let num = |sql: &str| -> i64 { c.query_row(&format!("SELECT {sql}"), [], |r| r.get(0)).unwrap() };
        assert_eq!(num("period_add(9602, -12)"), 199502);
        assert_eq!(num("period_add(200801, 2)"), 200803);
        assert_eq!(num("period_diff(199505, 9404)"), 13);
        assert_eq!(eval("maketime(-1, 5, 6.5)").unwrap(), "-01:05:06.5");
        assert_eq!(eval("maketime(1, 60, 0)"), None);
        assert_eq!(
            eval("addtime('2007-12-31 23:59:59.999999', '1 1:1:1.000002')").unwrap(),
            "2008-01-02 01:01:01.000001"
        );
        assert_eq!(eval("addtime('01:00:00', '02:30:00')").unwrap(), "03:30:00");
        assert_eq!(eval("subtime('2007-12-31 23:59:59', '1:1:1')").unwrap(), "2007-12-31 22:58:58");
        assert_eq!(eval("timestamp('2003-12-31')").unwrap(), "2003-12-31 00:00:00");
        assert_eq!(eval("timestamp('2003-12-31 12:00:00', '12:00:00')").unwrap(), "2004-01-01 00:00:00");
        assert_eq!(eval("time_format('100:00:00', '%H %k %h %I %l')").unwrap(), "100 100 04 04 4");
        // Out of TIME's range: clipped, never an overflow.
        assert_eq!(eval("maketime(9223372036854775807, 0, 0)").unwrap(), "838:59:59");
        assert_eq!(eval("addtime('838:00:00', '99999999999999999:00:00')").unwrap(), "838:59:59");
        assert_eq!(eval("timediff('-838:59:59', '838:59:59')").unwrap(), "-838:59:59");
        assert_eq!(eval("timediff('99999999999-01-01', '2000-01-01')"), None);
    }
}
