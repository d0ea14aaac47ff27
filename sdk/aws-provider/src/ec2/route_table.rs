//! `aws:ec2:RouteTable`: the EC2 calls. The provider ID is the route table ID.
//! Also the lookups routes and associations share.

use aws_sdk_ec2::types::RouteTable;
use cairn_aws::ec2::{RouteTableArgs, RouteTableOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::ec2::{Ec2ResultExt, arn, gone, missing, recorded_or_tagged, retag, tag_map, tag_specs};
use crate::sdk::optional;
use cairn_provider_sdk::known;

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: RouteTableArgs = cairn_provider_sdk::args(&req.inputs)?;
    let vpc = known(&args.vpc_id, "vpc_id")?;
    let out = c
        .ec2
        .create_route_table()
        .vpc_id(vpc)
        .set_tag_specifications(tag_specs("route-table", &args.tags, &req.urn))
        .send()
        .await
        .ec2("CreateRouteTable", vpc)?;
    let table = out.route_table().ok_or_else(|| missing("CreateRouteTable", vpc, "route table"))?;
    let id = table.route_table_id().ok_or_else(|| missing("CreateRouteTable", vpc, "route table ID"))?.to_owned();
    Ok(CreateResponse { outputs: outputs(c, table)?, id })
}

/// The route table, or `None` if it does not exist.
pub(crate) async fn describe(c: &Clients, id: &str) -> Result<Option<RouteTable>, ProviderError> {
    let out = c.ec2.describe_route_tables().route_table_ids(id).send().await;
    Ok(optional(out.ec2("DescribeRouteTables", id))?.and_then(|o| o.route_tables().first().cloned()))
}

fn outputs(c: &Clients, t: &RouteTable) -> Result<Value, ProviderError> {
    let id = t.route_table_id().unwrap_or_default();
    cairn_provider_sdk::to_value(&RouteTableOutputs {
        id: id.to_owned(),
        arn: arn(c, t.owner_id(), "route-table", id),
        vpc_id: t.vpc_id().unwrap_or_default().to_owned(),
    })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let Some(id) = recorded_or_tagged(c, &req).await? else { return Ok(None) };
    let Some(table) = describe(c, &id).await? else { return Ok(None) };
    let live = RouteTableArgs {
        vpc_id: Input::Value(table.vpc_id().unwrap_or_default().to_owned()),
        tags: tag_map(table.tags()),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(c, &table)?,
        id,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: RouteTableArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: RouteTableArgs = cairn_provider_sdk::args(&req.news)?;
    let id = req.id.as_str();
    if old.tags != new.tags {
        retag(c, id, &old.tags, &new.tags).await?;
    }
    let table = describe(c, id).await?.ok_or_else(|| gone("route table", id))?;
    Ok(UpdateResponse { outputs: outputs(c, &table)? })
}

/// Deletes the table (EC2 refuses while subnets are associated with it);
/// one already gone counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let id = req.id.as_str();
    optional(c.ec2.delete_route_table().route_table_id(id).send().await.ec2("DeleteRouteTable", id))?;
    Ok(())
}
