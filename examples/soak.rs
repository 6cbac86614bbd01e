//! Rotates one refresh family many times against DynamoDB Local through the
//! real store, and prints the item's size and the write units DynamoDB
//! reports (ReturnConsumedCapacity) for the first and the last rotation.
//! Run it with `scripts/soak.sh [ROTATIONS]` (default 50,000).

use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use token_issuer::core::record::family::{RefreshFamily, Rotation};
use token_issuer::core::record::token::{token_hash, FamilyId};
use token_issuer::core::record::user::Username;
use token_issuer::core::store::FamilyStore as _;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The `write_units` of the last rotation the store logged.
#[derive(Clone, Default)]
struct Units(Arc<Mutex<Option<f64>>>);

impl<S: tracing::Subscriber> Layer<S> for Units {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct V(Option<f64>);
        impl Visit for V {
            fn record_f64(&mut self, f: &Field, v: f64) {
                if f.name() == "write_units" {
                    self.0 = Some(v);
                }
            }
            fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
        }
        let mut v = V(None);
        event.record(&mut v);
        if v.0.is_some() {
            *self.0.lock().unwrap() = v.0;
        }
    }
}

fn size(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    item.iter()
        .map(|(k, v)| {
            k.len()
                + match v {
                    A::S(s) | A::N(s) => s.len(),
                    A::Ss(set) => set.iter().map(String::len).sum(),
                    _ => 1,
                }
        })
        .sum()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rotations: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000);
    let units = Units::default();
    tracing_subscriber::registry()
        .with(
            units.clone().with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("token_issuer::store", tracing::Level::DEBUG),
            ),
        )
        .init();
    let sdk = token_issuer::aws::lambda_sdk_config()
        .await
        .expect("SDK config");
    let config = token_issuer::config::StoreConfig {
        users_table: format!("soak-users-{}", uuid::Uuid::new_v4().simple()),
        tokens_table: format!("soak-tokens-{}", uuid::Uuid::new_v4().simple()),
    };
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let store = token_issuer::compose::store(client.clone(), &config);
    store.create_tables().await.expect("create tables");
    let now = OffsetDateTime::now_utc();
    let id = FamilyId::generate().unwrap();
    let mut hash = token_hash("token 0");
    store
        .put_refresh_family(&RefreshFamily {
            id,
            username: Username::parse("soak").unwrap(),
            user_id: uuid::Uuid::new_v4(),
            token_hash: hash.clone(),
            token_version: Some(0),
            generation: 0,
            created_at: now,
            expires_at: now + time::Duration::days(30),
            revoked_at: None,
            client: None,
            issued_via: None,
            session: None,
        })
        .await
        .expect("put the family");
    let item = || async {
        let out = client
            .scan()
            .table_name(&config.tokens_table)
            .send()
            .await
            .expect("scan");
        size(&out.items()[0])
    };
    let started = std::time::Instant::now();
    for g in 0..rotations {
        let next = token_hash(&format!("token {}", g + 1));
        let r = store
            .rotate_refresh(&id, &hash, &next, g, None, now)
            .await
            .expect("rotate");
        assert!(matches!(r, Rotation::Rotated(_)), "rotation {g}");
        hash = next;
        if g == 0 || g + 1 == rotations {
            let wu = units
                .0
                .lock()
                .unwrap()
                .map_or("?".into(), |u| u.to_string());
            println!(
                "soak: rotation {:>6}: item {} bytes, {} write units",
                g + 1,
                item().await,
                wu
            );
        }
    }
    println!(
        "soak: {rotations} rotations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
