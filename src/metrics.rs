//! Metrics in CloudWatch Embedded Metric Format: one JSON document per
//! request, written to the function's log (no API call), from which
//! CloudWatch extracts the metrics. Dimensions are kept few, as each
//! combination is a billed custom metric: `Service` alone, and `Service` with
//! `Route` (a route's name holds its dialect: `v2.login`). Only what happened
//! is written: a route that never locks anyone has no `Locked` metric.
//!
//! A document goes out as a log event at target [`TARGET`], which the log
//! set-up (`telemetry`) writes as the bare JSON line EMF needs.

use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "TokenIssuer";
/// The log target whose events are EMF documents.
pub const TARGET: &str = "emf";

/// The `Service` dimension of each function.
pub const ISSUER: &str = "token-issuer";
pub const AUTHORIZER: &str = "token-authorizer";

/// Every metric either function writes, with its unit; the template's
/// alarms and dashboard may name only these.
pub const METRICS: &[(&str, &str)] = &[
    (REQUESTS, "Count"),
    (LATENCY, "Milliseconds"),
    (COLD_START, "Count"),
    (SUCCESS, "Count"),
    (INVALID_REQUEST, "Count"),
    (INVALID_CREDENTIALS, "Count"),
    (LOCKED, "Count"),
    (INVALID_REFRESH, "Count"),
    (INVALID_SESSION, "Count"),
    (INVALID_CLIENT, "Count"),
    (OTHER_REFUSAL, "Count"),
    (NOT_FOUND, "Count"),
    (SERVER_ERROR, "Count"),
    (REUSE_DETECTED, "Count"),
    (LOCK_STARTS, "Count"),
    (ADDRESS_LOCKS, "Count"),
    (KNOWN_DEVICE_PASSES, "Count"),
    (ALLOWED, "Count"),
    (DENIED, "Count"),
    (STORAGE_FAULT, "Count"),
    (LOGOUTS_DELIVERED, "Count"),
    (LOGOUTS_FAILED, "Count"),
    (SECOND_FACTOR_FAILURES, "Count"),
];

pub const REQUESTS: &str = "Requests";
pub const LATENCY: &str = "Latency";
pub const COLD_START: &str = "ColdStart";
pub const SUCCESS: &str = "Success";
pub const INVALID_REQUEST: &str = "InvalidRequest";
pub const INVALID_CREDENTIALS: &str = "InvalidCredentials";
pub const LOCKED: &str = "Locked";
pub const INVALID_REFRESH: &str = "InvalidRefresh";
pub const INVALID_SESSION: &str = "InvalidSession";
pub const INVALID_CLIENT: &str = "InvalidClient";
pub const OTHER_REFUSAL: &str = "OtherRefusal";
pub const NOT_FOUND: &str = "NotFound";
pub const SERVER_ERROR: &str = "ServerError";
/// A consumed refresh token presented again: the family was revoked.
pub const REUSE_DETECTED: &str = "ReuseDetected";
/// A username (or username and address) locked by this request's failure.
pub const LOCK_STARTS: &str = "LockStarts";
/// A source address that spent its budget of failures across usernames
/// (password spraying) with this request's failure.
pub const ADDRESS_LOCKS: &str = "AddressLocks";
/// A log in at the login page by a browser known for the username, past
/// that username's lock.
pub const KNOWN_DEVICE_PASSES: &str = "KnownDevicePasses";
pub const ALLOWED: &str = "Allowed";
pub const DENIED: &str = "Denied";
pub const STORAGE_FAULT: &str = "StorageFault";
/// Logout tokens an app accepted (back-channel logout).
pub const LOGOUTS_DELIVERED: &str = "BackChannelLogouts";
/// Logout tokens that did not reach their app within the bound.
pub const LOGOUTS_FAILED: &str = "BackChannelLogoutFailures";
/// Codes and passkeys that did not sign anyone in.
pub const SECOND_FACTOR_FAILURES: &str = "SecondFactorFailures";

fn unit(name: &str) -> &'static str {
    METRICS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("None", |(_, u)| u)
}

static COLD: AtomicBool = AtomicBool::new(true);

/// `true` for the first request of the process, `false` after.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

/// Ids that tie a document to its log lines and trace.
#[derive(Debug, Clone, Default)]
pub struct Ids<'a> {
    /// The Lambda invocation's request id.
    pub lambda_request_id: Option<&'a str>,
    /// The X-Ray trace id, when tracing is on.
    pub trace_id: Option<&'a str>,
    /// API Gateway's request id.
    pub api_request_id: Option<&'a str>,
}

/// One request's figures.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    pub service: &'static str,
    /// The second dimension, next to `Service`, with its value (`Route` for
    /// the issuer, `Reason` for a refusal of the authorizer); `None`: none.
    pub detail: Option<(&'static str, &'a str)>,
    pub latency_ms: f64,
    /// The outcome's metric (1): [`SUCCESS`], [`LOCKED`], ...
    pub outcome: &'static str,
    /// Counts of notable events (only those above zero are written).
    pub events: Vec<(&'static str, u32)>,
    pub cold_start: bool,
    /// Searchable in Logs Insights, not dimensions.
    pub properties: Vec<(&'static str, Value)>,
    pub ids: Ids<'a>,
    pub timestamp_ms: i64,
}

impl Document<'_> {
    /// The EMF document.
    pub fn to_json(&self) -> Value {
        let mut root = Map::new();
        root.insert("Service".into(), self.service.into());
        let mut all = vec![REQUESTS, LATENCY, self.outcome];
        root.insert(REQUESTS.into(), 1.into());
        root.insert(LATENCY.into(), json!(self.latency_ms));
        root.insert(self.outcome.into(), 1.into());
        if self.cold_start {
            all.push(COLD_START);
            root.insert(COLD_START.into(), 1.into());
        }
        for (name, n) in &self.events {
            if *n > 0 {
                all.push(name);
                root.insert((*name).into(), (*n).into());
            }
        }
        let metrics = |names: &[&str]| -> Value {
            names
                .iter()
                .map(|n| json!({"Name": n, "Unit": unit(n)}))
                .collect()
        };
        let mut directives = vec![json!({
            "Namespace": NAMESPACE,
            "Dimensions": [["Service"]],
            "Metrics": metrics(&all),
        })];
        if let Some((dimension, value)) = self.detail {
            root.insert(dimension.into(), value.into());
            directives.push(json!({
                "Namespace": NAMESPACE,
                "Dimensions": [["Service", dimension]],
                "Metrics": metrics(&[REQUESTS, LATENCY, self.outcome]),
            }));
        }
        for (k, v) in &self.properties {
            root.insert((*k).into(), v.clone());
        }
        let ids = [
            ("requestId", self.ids.lambda_request_id),
            ("traceId", self.ids.trace_id),
            ("apiRequestId", self.ids.api_request_id),
        ];
        for (k, v) in ids {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                root.insert(k.into(), v.into());
            }
        }
        root.insert(
            "_aws".into(),
            json!({"Timestamp": self.timestamp_ms, "CloudWatchMetrics": directives}),
        );
        Value::Object(root)
    }

    /// Writes the document to the log, as one bare JSON line.
    pub fn emit(&self) {
        tracing::info!(target: TARGET, "{}", self.to_json());
    }
}

/// Now, in epoch milliseconds (EMF's `Timestamp`).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_declares_each_metric_it_holds_once_per_directive() {
        let doc = Document {
            service: ISSUER,
            detail: Some(("Route", "v2.refresh")),
            latency_ms: 12.5,
            outcome: INVALID_REFRESH,
            events: vec![(REUSE_DETECTED, 1), (LOCK_STARTS, 0)],
            cold_start: true,
            properties: vec![("Dialect", "v2".into())],
            ids: Ids {
                lambda_request_id: Some("r-1"),
                trace_id: None,
                api_request_id: Some(""),
            },
            timestamp_ms: 1_700_000_000_000,
        }
        .to_json();
        assert_eq!(doc["Requests"], 1);
        assert_eq!(doc["InvalidRefresh"], 1);
        assert_eq!(doc["ReuseDetected"], 1);
        assert!(doc.get("LockStarts").is_none(), "zeros are left out");
        assert_eq!(doc["ColdStart"], 1);
        assert_eq!(doc["Route"], "v2.refresh");
        assert_eq!(doc["requestId"], "r-1");
        assert!(doc.get("traceId").is_none() && doc.get("apiRequestId").is_none());
        let d = &doc["_aws"]["CloudWatchMetrics"];
        assert_eq!(d[0]["Dimensions"], json!([["Service"]]));
        assert_eq!(d[1]["Dimensions"], json!([["Service", "Route"]]));
        let names: Vec<&str> = d[0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Requests",
                "Latency",
                "InvalidRefresh",
                "ColdStart",
                "ReuseDetected"
            ]
        );
        assert_eq!(d[0]["Metrics"][1]["Unit"], "Milliseconds");
    }
}
