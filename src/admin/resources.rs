//! `token-admin resource`: the APIs tokens may be for (RFC 8707 resource
//! indicators, API §14), each with the scopes it accepts.

use super::AdminError;
use crate::core::record::client::Scopes;
use crate::core::record::resource::{Resource, ResourceUri};
use crate::core::store::{AdminStore, StoreError};
use clap::{Args, Subcommand};
use time::OffsetDateTime;

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Register a resource: a token requested with `resource=<uri>` has it
    /// as its `aud` and carries only these scopes.
    Create(CreateResource),
    /// Print every resource, one per line.
    List,
    /// Withdraw a resource: its tokens stop being active, and no new ones
    /// are issued for it.
    Delete(ResourceUriArgs),
}

#[derive(Debug, Args)]
pub struct CreateResource {
    /// Its identifier: an absolute `https://` URI (or `http://` on
    /// localhost or 127.0.0.1) without a fragment, as clients will send it.
    #[arg(long)]
    pub uri: String,
    /// Space-separated scopes its tokens may carry.
    #[arg(long)]
    pub scopes: String,
}

#[derive(Debug, Args)]
pub struct ResourceUriArgs {
    #[arg(long)]
    pub uri: String,
}

fn uri(raw: &str) -> Result<ResourceUri, AdminError> {
    ResourceUri::parse(raw).map_err(|e| AdminError::Invalid(format!("--uri: {e}")))
}

pub async fn resource_command<S: AdminStore>(
    store: &S,
    cmd: ResourceCommand,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    match cmd {
        ResourceCommand::Create(args) => {
            let scopes = Scopes::parse(&args.scopes)
                .map_err(|e| AdminError::Invalid(format!("--scopes: {e}")))?;
            if scopes.is_empty() {
                return Err(AdminError::Invalid("--scopes: give at least one".into()));
            }
            let resource = Resource {
                uri: uri(&args.uri)?,
                scopes,
                created_at: now,
            };
            match store.create_resource(&resource).await {
                Err(StoreError::AlreadyExists) => Err(AdminError::Invalid(format!(
                    "resource {} already exists",
                    resource.uri
                ))),
                Err(e) => Err(e.into()),
                Ok(()) => {
                    println!(
                        "created resource {}\tscopes\t{}",
                        resource.uri, resource.scopes
                    );
                    Ok(())
                }
            }
        }
        ResourceCommand::List => {
            println!("resource\tscopes");
            for r in store.list_resources().await? {
                println!("{}\t{}", r.uri, r.scopes);
            }
            Ok(())
        }
        ResourceCommand::Delete(args) => {
            let uri = uri(&args.uri)?;
            if !store.delete_resource(&uri).await? {
                return Err(AdminError::Invalid(format!("no resource {uri}")));
            }
            println!("deleted resource {uri}");
            Ok(())
        }
    }
}
