//! The wire date formats, as `time` format descriptions.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `2020-07-09T23:12:29.3560169Z`: UTC, seven fractional digits (cut, not rounded).
const USER_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z");

/// `Saturday, November 22, 2025 6:47:05 PM UTC`: cut to the second.
const OPS_EXPIRES_AT: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday], [month repr:long] [day padding:none], [year] [hour repr:12 padding:none]:[minute]:[second] [period] UTC"
);

fn format(t: OffsetDateTime, items: &[BorrowedFormatItem<'_>]) -> String {
    // Every component these descriptions name exists in an OffsetDateTime, so
    // formatting cannot fail; an empty string keeps a bug visible, not fatal.
    t.to_offset(UtcOffset::UTC)
        .format(items)
        .unwrap_or_default()
}

/// The user dialect's times.
pub fn user_time(t: OffsetDateTime) -> String {
    format(t, USER_TIME)
}

/// The ops dialect's `expiresAt`.
pub fn ops_expires_at(t: OffsetDateTime) -> String {
    format(t, OPS_EXPIRES_AT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn user_times_have_seven_fraction_digits() {
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
        assert_eq!(
            user_time(datetime!(2021-01-02 05:04:05 +02:00)),
            "2021-01-02T03:04:05.0000000Z"
        );
    }

    #[test]
    fn expires_at_matches_the_documented_example() {
        // validity 1763837225035
        let t = crate::core::clock::from_epoch_millis(1_763_837_225_035);
        assert_eq!(
            ops_expires_at(t),
            "Saturday, November 22, 2025 6:47:05 PM UTC"
        );
    }

    #[test]
    fn twelve_hour_clock_edges() {
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
