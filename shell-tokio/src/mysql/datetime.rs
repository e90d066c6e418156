//! MySQL's dates and times as a broken-down UTC date-time: parsed from and printed as
//! `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` text, converted to and from Unix time, and formatted
//! with DATE_FORMAT's specifiers.

/// A broken-down UTC date-time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Year.
    pub y: i64,
    /// Month 1-12.
    pub mo: u32,
    /// Day 1-31.
    pub d: u32,
    /// Hour.
    pub h: u32,
    /// Minute.
    pub mi: u32,
    /// Second.
    pub s: u32,
    /// Microseconds.
    pub us: u32,
}

pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

impl DateTime {
    /// Parse MySQL date / datetime text.
    pub fn parse(s: &str) -> Option<DateTime> {
        let s = s.trim();
        let (date, time) = match s.split_once([' ', 'T']) {
            Some((d, t)) => (d, Some(t)),
            None => (s, None),
        };
        let mut dp = date.split('-');
        let y: i64 = dp.next()?.parse().ok()?;
        let mo: u32 = dp.next()?.parse().ok()?;
        let d: u32 = dp.next()?.parse().ok()?;
        let (mut h, mut mi, mut sec, mut us) = (0, 0, 0, 0);
        if let Some(t) = time {
            let (hms, frac) = t.split_once('.').unwrap_or((t, ""));
            let mut tp = hms.split(':');
            h = tp.next()?.parse().ok()?;
            mi = tp.next().unwrap_or("0").parse().ok()?;
            sec = tp.next().unwrap_or("0").parse().ok()?;
            if !frac.is_empty() {
                let f: String = frac.chars().take(6).collect();
                us = format!("{f:0<6}").parse().ok()?;
            }
        }
        if mo > 12 || d > 31 || h > 23 || mi > 59 || sec > 59 {
            return None;
        }
        Some(DateTime { y, mo, d, h, mi, s: sec, us })
    }

    /// From seconds since the Unix epoch.
    pub fn from_unix(secs: i64) -> DateTime {
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        let r = secs.rem_euclid(86_400);
        DateTime { y, mo, d, h: (r / 3600) as u32, mi: (r % 3600 / 60) as u32, s: (r % 60) as u32, us: 0 }
    }

    /// Days since the Unix epoch.
    pub fn days(&self) -> i64 {
        days_from_civil(self.y, self.mo, self.d)
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.days() * 86_400 + (self.h * 3600 + self.mi * 60 + self.s) as i64
    }

    /// `YYYY-MM-DD HH:MM:SS`.
    pub fn to_mysql(&self) -> String {
        format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", self.y, self.mo, self.d, self.h, self.mi, self.s)
    }

    /// (year, week) as MySQL's week modes count them: weeks start on Monday or Sunday;
    /// with `week_year` days before week 1 belong to the previous year's last week (else
    /// to week 0); week 1 is the first week containing the first day of the week
    /// (`first_weekday`) or else the first week with four days in the year.
    pub fn week(&self, monday_first: bool, mut week_year: bool, first_weekday: bool) -> (i64, i64) {
        let weekday_of = |days: i64| if monday_first { (days + 3).rem_euclid(7) } else { (days + 4).rem_euclid(7) };
        let year_days = |y: i64| days_from_civil(y + 1, 1, 1) - days_from_civil(y, 1, 1);
        let daynr = self.days();
        let mut first = days_from_civil(self.y, 1, 1);
        let mut weekday = weekday_of(first);
        let mut year = self.y;
        let late_start = |wd: i64| if first_weekday { wd != 0 } else { wd >= 4 };
        if self.mo == 1 && (self.d as i64) <= 7 - weekday {
            if !week_year && late_start(weekday) {
                return (year, 0);
            }
            week_year = true;
            year -= 1;
            first -= year_days(year);
            weekday = weekday_of(first);
        }
        let days = if late_start(weekday) { daynr - (first + (7 - weekday)) } else { daynr - (first - weekday) };
        if week_year && days >= 52 * 7 {
            let next = weekday_of(first + year_days(year));
            if !late_start(next) {
                return (year + 1, 1);
            }
        }
        (year, days / 7 + 1)
    }

    /// `EXTRACT(unit FROM self)`: one field, or for a compound unit (`DAY_HOUR`) its fields
    /// as the digits of one number (`2 03` → 203), as MySQL gives them.
    pub fn extract(&self, unit: &str) -> Option<i64> {
        let (y, mo, d, h, mi, s, us) =
            (self.y, self.mo as i64, self.d as i64, self.h as i64, self.mi as i64, self.s as i64, self.us as i64);
        let join = |fields: &[(i64, i64)]| fields.iter().fold(0, |acc, (v, width)| acc * width + v);
        Some(match unit {
            "MICROSECOND" => us,
            "SECOND" => s,
            "MINUTE" => mi,
            "HOUR" => h,
            "DAY" => d,
            "WEEK" => self.week(false, false, true).1,
            "MONTH" => mo,
            "QUARTER" => (mo - 1) / 3 + 1,
            "YEAR" => y,
            "YEAR_MONTH" => y * 100 + mo,
            "DAY_HOUR" => join(&[(d, 1), (h, 100)]),
            "DAY_MINUTE" => join(&[(d, 1), (h, 100), (mi, 100)]),
            "DAY_SECOND" => join(&[(d, 1), (h, 100), (mi, 100), (s, 100)]),
            "DAY_MICROSECOND" => join(&[(d, 1), (h, 100), (mi, 100), (s, 100), (us, 1_000_000)]),
            "HOUR_MINUTE" => join(&[(h, 1), (mi, 100)]),
            "HOUR_SECOND" => join(&[(h, 1), (mi, 100), (s, 100)]),
            "HOUR_MICROSECOND" => join(&[(h, 1), (mi, 100), (s, 100), (us, 1_000_000)]),
            "MINUTE_SECOND" => join(&[(mi, 1), (s, 100)]),
            "MINUTE_MICROSECOND" => join(&[(mi, 1), (s, 100), (us, 1_000_000)]),
            "SECOND_MICROSECOND" => join(&[(s, 1), (us, 1_000_000)]),
            _ => return None,
        })
    }

    /// MySQL DATE_FORMAT.
    pub fn format(&self, fmt: &str) -> String {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const DAYS: [&str; 7] = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"];
        let weekday = DAYS[self.days().rem_euclid(7) as usize];
        let month = MONTHS[(self.mo.clamp(1, 12) - 1) as usize];
        let h12 = if self.h.is_multiple_of(12) { 12 } else { self.h % 12 };
        let ampm = if self.h % 24 < 12 { "AM" } else { "PM" };
        let mut out = String::new();
        let mut chars = fmt.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('Y') => out.push_str(&format!("{:04}", self.y)),
                Some('U') => out.push_str(&format!("{:02}", self.week(false, false, true).1)),
                Some('u') => out.push_str(&format!("{:02}", self.week(true, false, false).1)),
                Some('V') => out.push_str(&format!("{:02}", self.week(false, true, true).1)),
                Some('v') => out.push_str(&format!("{:02}", self.week(true, true, false).1)),
                Some('X') => out.push_str(&format!("{:04}", self.week(false, true, true).0)),
                Some('x') => out.push_str(&format!("{:04}", self.week(true, true, false).0)),
                Some('y') => out.push_str(&format!("{:02}", self.y.rem_euclid(100))),
                Some('m') => out.push_str(&format!("{:02}", self.mo)),
                Some('c') => out.push_str(&self.mo.to_string()),
                Some('d') => out.push_str(&format!("{:02}", self.d)),
                Some('e') => out.push_str(&self.d.to_string()),
                Some('D') => {
                    let suffix = match (self.d % 10, self.d % 100) {
                        (_, 11..=13) => "th",
                        (1, _) => "st",
                        (2, _) => "nd",
                        (3, _) => "rd",
                        _ => "th",
                    };
                    out.push_str(&format!("{}{suffix}", self.d));
                }
                Some('H') => out.push_str(&format!("{:02}", self.h)),
                Some('k') => out.push_str(&self.h.to_string()),
                Some('h') | Some('I') => out.push_str(&format!("{h12:02}")),
                Some('l') => out.push_str(&h12.to_string()),
                Some('i') => out.push_str(&format!("{:02}", self.mi)),
                Some('s') | Some('S') => out.push_str(&format!("{:02}", self.s)),
                Some('f') => out.push_str(&format!("{:06}", self.us)),
                Some('p') => out.push_str(ampm),
                Some('M') => out.push_str(month),
                Some('b') => out.push_str(&month[..3]),
                Some('W') => out.push_str(weekday),
                Some('a') => out.push_str(&weekday[..3]),
                Some('j') => out.push_str(&format!("{:03}", self.days() - days_from_civil(self.y, 1, 1) + 1)),
                Some('T') => out.push_str(&format!("{:02}:{:02}:{:02}", self.h, self.mi, self.s)),
                Some('r') => out.push_str(&format!("{h12:02}:{:02}:{:02} {ampm}", self.mi, self.s)),
                Some(other) => out.push(other),
                None => out.push('%'),
            }
        }
        out
    }
}
