//! `token-admin address`: source addresses and their budget of failed log
//! ins across usernames.

use super::{operator, AdminError};
use crate::core::audit;
use crate::core::record::throttle;
use crate::core::store::AdminStore;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AddressCommand {
    /// Lift the budget of failed log ins across usernames that one source
    /// address spent (password spraying), before its window passes.
    Unlock {
        /// The address as API Gateway reports it (`sourceIp`).
        #[arg(long)]
        address: String,
    },
}

pub(super) async fn address_command<S: AdminStore>(
    store: &S,
    cmd: AddressCommand,
) -> Result<(), AdminError> {
    match cmd {
        AddressCommand::Unlock { address } => unlock(store, &address).await,
    }
}

async fn unlock<S: AdminStore>(store: &S, address: &str) -> Result<(), AdminError> {
    let address = address.trim();
    if address.is_empty() {
        return Err(AdminError::Invalid("--address must not be empty".into()));
    }
    store
        .delete_throttle(&throttle::address_key(Some(address)))
        .await?;
    audit::admin_address_unlocked(&operator(), address);
    println!("unlocked address {address}");
    Ok(())
}
