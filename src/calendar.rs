//! Unix time as a civil date and time of day in UTC (the proleptic Gregorian calendar), for
//! the times people read: publish history, the CLI's reports, the tests' API stand-in.

/// A moment in UTC, to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utc {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Utc {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn from_unix(unix_seconds: u64) -> Utc {
        let days = (unix_seconds / 86_400) as i64;
        let time = (unix_seconds % 86_400) as u32;
        // H. Hinnant's civil_from_days: eras of 400 years counted from 0000-03-01, so that
        // a leap day ends each year.
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted.rem_euclid(146_097);
        let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
        let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 } as u32;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Utc { year, month, day, hour: time / 3_600, minute: time / 60 % 60, second: time % 60 }
    }

    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub fn readable(&self) -> String {
        format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", self.year, self.month, self.day, self.hour, self.minute, self.second)
    }

    /// RFC 3339 with microseconds, as the Cloudflare API writes times: `YYYY-MM-DDTHH:MM:SS.000000Z`.
    pub fn rfc3339_micros(&self) -> String {
        format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000000Z", self.year, self.month, self.day, self.hour, self.minute, self.second)
    }
}

#[cfg(test)]
mod tests {
    use super::Utc;

    #[test]
    fn dates_across_leap_days_centuries_and_year_ends() {
        let cases = [
            (0, "1970-01-01 00:00:00 UTC"),
            (951_782_400, "2000-02-29 00:00:00 UTC"),
            (951_868_799, "2000-02-29 23:59:59 UTC"),
            (1_709_251_199, "2024-02-29 23:59:59 UTC"),
            (1_735_689_599, "2024-12-31 23:59:59 UTC"),
            (1_735_689_600, "2025-01-01 00:00:00 UTC"),
            (4_107_542_400, "2100-03-01 00:00:00 UTC"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(Utc::from_unix(seconds).readable(), expected, "{seconds}");
        }
    }

    #[test]
    fn every_day_follows_the_one_before() {
        // Walk 1970..2200 a day at a time: each date is the day after the previous one.
        let mut previous = Utc::from_unix(0);
        for day in 1..(230 * 366) {
            let next = Utc::from_unix(day * 86_400);
            let leap = previous.year % 4 == 0 && (previous.year % 100 != 0 || previous.year % 400 == 0);
            let length = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][previous.month as usize - 1];
            let expected = if previous.day < length {
                (previous.year, previous.month, previous.day + 1)
            } else if previous.month < 12 {
                (previous.year, previous.month + 1, 1)
            } else {
                (previous.year + 1, 1, 1)
            };
            assert_eq!((next.year, next.month, next.day), expected, "day {day}");
            previous = next;
        }
    }

    #[test]
    fn rfc3339_form() {
        assert_eq!(Utc::from_unix(1_765_000_000).rfc3339_micros(), "2025-12-06T05:46:40.000000Z");
    }
}
