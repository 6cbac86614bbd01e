//! `token-admin tables`: the DynamoDB tables, for local use (the template
//! makes them in AWS).

use super::AdminError;
use crate::store::DynamoStore;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum TablesCommand {
    /// Create both tables (same keys and TTL as template.yaml); existing ones are kept.
    Create,
}

pub(super) async fn tables_command(
    store: &DynamoStore,
    cmd: TablesCommand,
) -> Result<(), AdminError> {
    match cmd {
        TablesCommand::Create => {
            for line in store.create_tables().await? {
                println!("{line}");
            }
            Ok(())
        }
    }
}
