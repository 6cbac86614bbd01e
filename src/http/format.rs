//! The two date formats on the wire, as `time` format descriptions: the user
//! dialect's token expiry times and the ops dialect's `expiresAt`.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// RFC 3339 in UTC with exactly seven fractional digits (100 ns ticks; the
/// digits below are cut, not rounded) and `Z`: `2020-07-09T23:12:29.3560169Z`.
const USER_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z");

/// `Saturday, November 22, 2025 6:47:05 PM UTC`: long weekday and month, day
/// and 12-hour hour without padding, cut to the second.
const OPS_EXPIRES_AT: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday], [month repr:long] [day padding:none], [year] [hour repr:12 padding:none]:[minute]:[second] [period] UTC"
);

/// The user dialect's `accessTokenExpiryTime` / `refreshTokenExpiryTime`.
pub fn user_time(t: OffsetDateTime) -> String {
    format_utc(t, USER_TIME)
}

/// The ops dialect's `expiresAt`.
pub fn ops_expires_at(t: OffsetDateTime) -> String {
    format_utc(t, OPS_EXPIRES_AT)
}

fn format_utc(t: OffsetDateTime, format: &[BorrowedFormatItem<'_>]) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(format)
        // An OffsetDateTime has every component these formats name, and its
        // year (±9999) fits `[year]`; writing to a String cannot fail.
        .expect("an OffsetDateTime always formats")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn user_time_has_seven_fraction_digits() {
        assert_eq!(
            user_time(datetime!(2020-07-09 23:12:29.3560169 UTC)),
            "2020-07-09T23:12:29.3560169Z"
        );
        assert_eq!(
            user_time(datetime!(2021-01-02 03:04:05 UTC)),
            "2021-01-02T03:04:05.0000000Z"
        );
        // Sub-100 ns digits are cut, not rounded.
        assert_eq!(
            user_time(datetime!(2021-01-02 03:04:05.999999999 UTC)),
            "2021-01-02T03:04:05.9999999Z"
        );
    }

    #[test]
    fn both_formats_are_in_utc() {
        let t = datetime!(2021-01-02 05:04:05.5 +02:00);
        assert_eq!(user_time(t), "2021-01-02T03:04:05.5000000Z");
        assert_eq!(
            ops_expires_at(t),
            "Saturday, January 2, 2021 3:04:05 AM UTC"
        );
        assert_eq!(
            user_time(datetime!(2021-01-01 23:30 UTC).to_offset(offset!(+01:00))),
            "2021-01-01T23:30:00.0000000Z"
        );
    }

    #[test]
    fn ops_expires_at_matches_the_seed() {
        // The contract's example: validity 1763837225035 (epoch milliseconds).
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_763_837_225_035 * 1_000_000).unwrap();
        assert_eq!(
            ops_expires_at(t),
            "Saturday, November 22, 2025 6:47:05 PM UTC"
        );
    }

    #[test]
    fn ops_twelve_hour_clock_edges() {
        assert_eq!(
            ops_expires_at(datetime!(2026-01-05 00:05:09 UTC)),
            "Monday, January 5, 2026 12:05:09 AM UTC"
        );
        assert_eq!(
            ops_expires_at(datetime!(2026-01-05 12:00:00 UTC)),
            "Monday, January 5, 2026 12:00:00 PM UTC"
        );
        assert_eq!(
            ops_expires_at(datetime!(2026-01-05 11:59:59.999 UTC)),
            "Monday, January 5, 2026 11:59:59 AM UTC"
        );
    }
}
