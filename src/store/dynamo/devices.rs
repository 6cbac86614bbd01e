//! Devices waiting for their user (RFC 8628): `DV#<hash of the device
//! code>` holds the request, `UC#<hash of the user code>` names it for the
//! page. Both are kept until the codes expire and a day more (`ttl`).

use super::codec::{get_n, get_s, get_time, get_time_opt, millis, n, s, ttl, Item};
use super::{classify, conditional, is_condition_failure, DynamoStore, TOKENS_KEY, TTL_ATTRIBUTE};
use crate::core::record::client::{ClientId, Scopes};
use crate::core::record::device::{
    DeviceRequest, DeviceStatus, DEVICE_CODE_TTL, POLL_INTERVAL_SECS,
};
use crate::core::store::{DeviceStore, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::{Duration, OffsetDateTime};

pub(super) const DEVICE_PREFIX: &str = "DV#";
pub(super) const USER_CODE_PREFIX: &str = "UC#";
const KEEP: Duration = Duration::days(1);
const STATUS: &str = "status";
const GRANT: &str = "grant";

fn key(prefix: &str, hash: &str) -> AttributeValue {
    s(&format!("{prefix}{hash}"))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("device request: {what}"))
}

fn from_item(item: &Item) -> Result<DeviceRequest, StoreError> {
    let status = match get_s(item, STATUS)? {
        "pending" => DeviceStatus::Pending,
        "approved" => match item.get(GRANT) {
            Some(AttributeValue::B(b)) => DeviceStatus::Approved(b.as_ref().to_vec()),
            _ => return Err(corrupt("approved without its grant")),
        },
        "denied" => DeviceStatus::Denied,
        "done" => DeviceStatus::Done,
        other => return Err(corrupt(&format!("status {other:?}"))),
    };
    Ok(DeviceRequest {
        client_id: ClientId::parse(get_s(item, "client_id")?)
            .map_err(|e| corrupt(&e.to_string()))?,
        scope: Scopes::parse(get_s(item, "scope")?).map_err(|e| corrupt(&e.to_string()))?,
        expires_at: get_time(item, "expires_at")?,
        interval_secs: get_n(item, "interval")?,
        last_poll_at: get_time_opt(item, "last_poll_at")?,
        status,
    })
}

impl DeviceStore for DynamoStore {
    async fn put_device(
        &self,
        device_hash: &str,
        user_hash: &str,
        r: &DeviceRequest,
    ) -> Result<bool, StoreError> {
        // The user code first: a collision with a live one draws another;
        // an expired one's item may be replaced.
        let res = self
            .client
            .put_item()
            .table_name(&self.tokens)
            .item(TOKENS_KEY, key(USER_CODE_PREFIX, user_hash))
            .item("device", s(device_hash))
            .item("expires_at", millis(r.expires_at))
            .item(TTL_ATTRIBUTE, ttl(r.expires_at + KEEP))
            .condition_expression("attribute_not_exists(#k) OR expires_at <= :now")
            .expression_attribute_names("#k", TOKENS_KEY)
            // The request is made now: its codes expire a full TTL later.
            .expression_attribute_values(":now", millis(r.expires_at - DEVICE_CODE_TTL))
            .send()
            .await;
        if conditional(&self.tokens, res)?.is_none() {
            return Ok(false);
        }
        let mut item = Item::new();
        item.insert(TOKENS_KEY.into(), key(DEVICE_PREFIX, device_hash));
        item.insert("client_id".into(), s(r.client_id.as_str()));
        item.insert("scope".into(), s(&r.scope.to_string()));
        item.insert("expires_at".into(), millis(r.expires_at));
        item.insert("interval".into(), n(r.interval_secs));
        item.insert(STATUS.into(), s("pending"));
        item.insert(TTL_ATTRIBUTE.into(), ttl(r.expires_at + KEEP));
        self.client
            .put_item()
            .table_name(&self.tokens)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        Ok(true)
    }

    async fn device_of_user_code(
        &self,
        user_hash: &str,
    ) -> Result<Option<(String, DeviceRequest)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, key(USER_CODE_PREFIX, user_hash))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let device = get_s(item, "device")?.to_string();
        Ok(self.get_device(&device).await?.map(|r| (device, r)))
    }

    async fn get_device(&self, device_hash: &str) -> Result<Option<DeviceRequest>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, key(DEVICE_PREFIX, device_hash))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&self.tokens, e))?;
        out.item().map(from_item).transpose()
    }

    async fn note_poll(
        &self,
        device_hash: &str,
        now: OffsetDateTime,
        slow_down: bool,
    ) -> Result<(), StoreError> {
        let update = if slow_down {
            "SET last_poll_at = :now, #i = #i + :step"
        } else {
            "SET last_poll_at = :now"
        };
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, key(DEVICE_PREFIX, device_hash))
            .update_expression(update)
            .condition_expression("#s = :pending")
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", millis(now));
        if slow_down {
            req = req
                .expression_attribute_names("#i", "interval")
                .expression_attribute_values(":step", n(POLL_INTERVAL_SECS));
        }
        // Settled meanwhile: the next poll sees it.
        conditional(&self.tokens, req.send().await)?;
        Ok(())
    }

    async fn settle_device(
        &self,
        device_hash: &str,
        sealed_grant: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, key(DEVICE_PREFIX, device_hash))
            .condition_expression("#s = :pending")
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_values(":pending", s("pending"));
        req = match sealed_grant {
            Some(grant) => req
                .update_expression("SET #s = :approved, #g = :grant")
                .expression_attribute_names("#g", GRANT)
                .expression_attribute_values(":approved", s("approved"))
                .expression_attribute_values(":grant", AttributeValue::B(grant.to_vec().into())),
            None => req
                .update_expression("SET #s = :denied")
                .expression_attribute_values(":denied", s("denied")),
        };
        Ok(conditional(&self.tokens, req.send().await)?.is_some())
    }

    async fn take_device_grant(&self, device_hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key(TOKENS_KEY, key(DEVICE_PREFIX, device_hash))
            .update_expression("SET #s = :done REMOVE #g")
            .condition_expression("#s = :approved")
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_names("#g", GRANT)
            .expression_attribute_values(":approved", s("approved"))
            .expression_attribute_values(":done", s("done"))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match res {
            Ok(out) => match out.attributes().and_then(|a| a.get(GRANT)) {
                Some(AttributeValue::B(b)) => Ok(Some(b.as_ref().to_vec())),
                _ => Err(corrupt("approved without its grant")),
            },
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(classify(&self.tokens, e)),
        }
    }
}
