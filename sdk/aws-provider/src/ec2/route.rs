//! `aws:ec2:Route`: the EC2 calls. The provider ID is
//! `ROUTETABLEID_DESTINATION`, e.g. `rtb-0abc_0.0.0.0/0` (route table IDs
//! have no `_`); EC2 gives routes no ID of their own.

use aws_sdk_ec2::types::Route;
use cairn_aws::ec2::{RouteArgs, RouteOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::ec2::{Ec2ResultExt, gone, route_table};
use crate::sdk::optional;
use cairn_provider_sdk::known;

/// The provider ID of a route.
fn route_id(table: &str, destination: &str) -> String {
    format!("{table}_{destination}")
}

/// Splits a provider ID into route table ID and destination.
fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once('_').filter(|(t, d)| !t.is_empty() && !d.is_empty()).ok_or_else(|| {
        ProviderError::invalid(format!(
            "route ID `{id}` is not of the form ROUTETABLEID_DESTINATION, e.g. rtb-0abc_0.0.0.0/0"
        ))
    })
}

/// The target of the arguments: (internet gateway, NAT gateway), exactly one set.
fn target(args: &RouteArgs) -> Result<(Option<String>, Option<String>), ProviderError> {
    let gateway = args.gateway_id.as_ref().map(|g| known(g, "gateway_id").cloned()).transpose()?;
    let nat = args.nat_gateway_id.as_ref().map(|n| known(n, "nat_gateway_id").cloned()).transpose()?;
    Ok((gateway, nat))
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: RouteArgs = cairn_provider_sdk::args(&req.inputs)?;
    let table = known(&args.route_table_id, "route_table_id")?;
    let destination = known(&args.destination_cidr_block, "destination_cidr_block")?;
    let id = route_id(table, destination);
    let (gateway, nat) = target(&args)?;
    c.ec2
        .create_route()
        .route_table_id(table)
        .destination_cidr_block(destination)
        .set_gateway_id(gateway)
        .set_nat_gateway_id(nat)
        .send()
        .await
        .ec2("CreateRoute", &id)?;
    Ok(CreateResponse { outputs: outputs(table, destination)?, id })
}

fn outputs(table: &str, destination: &str) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&RouteOutputs {
        id: route_id(table, destination),
        route_table_id: table.to_owned(),
        destination_cidr_block: destination.to_owned(),
    })
}

/// The route to `destination` in `table`, or `None` if it (or the table) does not exist.
async fn describe(c: &Clients, table: &str, destination: &str) -> Result<Option<Route>, ProviderError> {
    let Some(t) = route_table::describe(c, table).await? else { return Ok(None) };
    Ok(t.routes().iter().find(|r| r.destination_cidr_block() == Some(destination)).cloned())
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    // Without an ID (an interrupted create), the inputs name the route just as well.
    let id = match &req.id {
        Some(id) => id.clone(),
        None => route_id(
            &cairn_provider_sdk::input_str(&req.inputs, "route_table_id")?,
            &cairn_provider_sdk::input_str(&req.inputs, "destination_cidr_block")?,
        ),
    };
    let (table, destination) = split_id(&id)?;
    let Some(route) = describe(c, table, destination).await? else { return Ok(None) };
    let live = RouteArgs {
        route_table_id: Input::Value(table.to_owned()),
        destination_cidr_block: Input::Value(destination.to_owned()),
        // `local` is the VPC's own route, never a gateway of a declared route.
        gateway_id: route.gateway_id().filter(|g| *g != "local").map(|g| Input::Value(g.to_owned())),
        nat_gateway_id: route.nat_gateway_id().map(|n| Input::Value(n.to_owned())),
    };
    let outputs = outputs(table, destination)?;
    Ok(Some(ReadResponse { inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?, outputs, id }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: RouteArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: RouteArgs = cairn_provider_sdk::args(&req.news)?;
    let (table, destination) = split_id(&req.id)?;
    let new_target = target(&new)?;
    if target(&old)? != new_target {
        let (gateway, nat) = new_target;
        c.ec2
            .replace_route()
            .route_table_id(table)
            .destination_cidr_block(destination)
            .set_gateway_id(gateway)
            .set_nat_gateway_id(nat)
            .send()
            .await
            .ec2("ReplaceRoute", &req.id)?;
    }
    describe(c, table, destination).await?.ok_or_else(|| gone("route", &req.id))?;
    Ok(UpdateResponse { outputs: outputs(table, destination)? })
}

/// Deletes the route; one already gone (or whose table is gone) counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let (table, destination) = split_id(&req.id)?;
    let deleted = c.ec2.delete_route().route_table_id(table).destination_cidr_block(destination).send().await;
    optional(deleted.ec2("DeleteRoute", &req.id))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::ErrorCode;

    #[test]
    fn ids_join_and_split_at_the_first_underscore() {
        let id = route_id("rtb-0abc", "0.0.0.0/0");
        assert_eq!(id, "rtb-0abc_0.0.0.0/0");
        assert_eq!(split_id(&id).unwrap(), ("rtb-0abc", "0.0.0.0/0"));
        for bad in ["rtb-0abc", "_0.0.0.0/0", "rtb-0abc_"] {
            let err = split_id(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidArgument, "{bad}");
            assert!(err.message.contains("ROUTETABLEID_DESTINATION"), "{err}");
        }
    }
}
