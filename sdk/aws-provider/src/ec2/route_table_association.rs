//! `aws:ec2:RouteTableAssociation`: the EC2 calls. The provider ID is the
//! association ID given at creation.
//!
//! Switching tables (ReplaceRouteTableAssociation) gives the association a
//! new ID, which the `id` output carries; the provider ID cannot change, so
//! the association is found by its ID and, failing that, by its subnet (a
//! subnet has at most one explicit association).

use aws_sdk_ec2::types::RouteTableAssociation;
use cairn_aws::ec2::{RouteTableAssociationArgs, RouteTableAssociationOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::ec2::{Ec2ResultExt, filter, gone, missing};
use crate::sdk::optional;
use cairn_provider_sdk::known;

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: RouteTableAssociationArgs = cairn_provider_sdk::args(&req.inputs)?;
    let table = known(&args.route_table_id, "route_table_id")?;
    let subnet = known(&args.subnet_id, "subnet_id")?;
    let target = format!("{subnet} with {table}");
    let out = c
        .ec2
        .associate_route_table()
        .route_table_id(table)
        .subnet_id(subnet)
        .send()
        .await
        .ec2("AssociateRouteTable", &target)?;
    let id = out.association_id().ok_or_else(|| missing("AssociateRouteTable", &target, "association ID"))?;
    Ok(CreateResponse { outputs: outputs(id, table, subnet)?, id: id.to_owned() })
}

fn outputs(id: &str, table: &str, subnet: &str) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&RouteTableAssociationOutputs {
        id: id.to_owned(),
        route_table_id: table.to_owned(),
        subnet_id: subnet.to_owned(),
    })
}

/// The subnet's explicit associations in route tables matching `filter_name = value`.
async fn associations(
    c: &Clients,
    filter_name: &str,
    value: &str,
) -> Result<Vec<RouteTableAssociation>, ProviderError> {
    let out = c
        .ec2
        .describe_route_tables()
        .filters(filter(filter_name, value))
        .send()
        .await
        .ec2("DescribeRouteTables", value)?;
    Ok(out
        .route_tables()
        .iter()
        .flat_map(|t| t.associations())
        .filter(|a| a.subnet_id().is_some() && a.main() != Some(true))
        .cloned()
        .collect())
}

/// The association with `id`, or else the one of `subnet`, or `None`.
async fn find(
    c: &Clients,
    id: Option<&str>,
    subnet: Option<&str>,
) -> Result<Option<RouteTableAssociation>, ProviderError> {
    if let Some(id) = id {
        let found = associations(c, "association.route-table-association-id", id).await?;
        if let Some(a) = found.into_iter().find(|a| a.route_table_association_id() == Some(id)) {
            return Ok(Some(a));
        }
    }
    if let Some(subnet) = subnet {
        let found = associations(c, "association.subnet-id", subnet).await?;
        return Ok(found.into_iter().find(|a| a.subnet_id() == Some(subnet)));
    }
    Ok(None)
}

/// The subnet of recorded inputs, if they name it.
fn recorded_subnet(inputs: &Value) -> Option<String> {
    inputs.get("subnet_id").and_then(Value::as_str).map(str::to_owned)
}

fn parts(a: &RouteTableAssociation) -> (&str, &str, &str) {
    (
        a.route_table_association_id().unwrap_or_default(),
        a.route_table_id().unwrap_or_default(),
        a.subnet_id().unwrap_or_default(),
    )
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let subnet = recorded_subnet(&req.inputs);
    let Some(a) = find(c, req.id.as_deref(), subnet.as_deref()).await? else { return Ok(None) };
    let (current, table, subnet) = parts(&a);
    let live = RouteTableAssociationArgs {
        route_table_id: Input::Value(table.to_owned()),
        subnet_id: Input::Value(subnet.to_owned()),
    };
    Ok(Some(ReadResponse {
        id: req.id.clone().unwrap_or_else(|| current.to_owned()),
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(current, table, subnet)?,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let new: RouteTableAssociationArgs = cairn_provider_sdk::args(&req.news)?;
    let table = known(&new.route_table_id, "route_table_id")?;
    let subnet = known(&new.subnet_id, "subnet_id")?;
    let a = find(c, Some(&req.id), Some(subnet)).await?.ok_or_else(|| gone("route table association", &req.id))?;
    let (current, live_table, _) = parts(&a);
    if live_table == table {
        return Ok(UpdateResponse { outputs: outputs(current, table, subnet)? });
    }
    let out = c
        .ec2
        .replace_route_table_association()
        .association_id(current)
        .route_table_id(table)
        .send()
        .await
        .ec2("ReplaceRouteTableAssociation", current)?;
    let replaced =
        out.new_association_id().ok_or_else(|| missing("ReplaceRouteTableAssociation", current, "association ID"))?;
    Ok(UpdateResponse { outputs: outputs(replaced, table, subnet)? })
}

/// Disassociates the subnet (it falls back to the VPC's main table); an
/// association already gone counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let subnet = recorded_subnet(&req.inputs);
    let Some(a) = find(c, Some(&req.id), subnet.as_deref()).await? else { return Ok(()) };
    let (current, _, _) = parts(&a);
    optional(
        c.ec2.disassociate_route_table().association_id(current).send().await.ec2("DisassociateRouteTable", current),
    )?;
    Ok(())
}
