//! `aws:ec2:SecurityGroupRule`: the EC2 calls. The provider ID is the rule
//! ID (`sgr-...`) that AuthorizeSecurityGroupIngress/Egress returns.

use aws_sdk_ec2::types::{
    IpPermission, IpRange, SecurityGroupRule, SecurityGroupRuleRequest, SecurityGroupRuleUpdate, UserIdGroupPair,
};
use cairn_aws::ec2::{RuleProtocol, RuleType, SecurityGroupRuleArgs, SecurityGroupRuleOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::ec2::{Ec2ResultExt, filter, gone, missing};
use crate::sdk::optional;
use cairn_provider_sdk::known;

/// The peer of the arguments: (IPv4 range, security group), exactly one set.
fn peer(args: &SecurityGroupRuleArgs) -> Result<(Option<String>, Option<String>), ProviderError> {
    let cidr = args.cidr_ipv4.as_ref().map(|v| known(v, "cidr_ipv4").cloned()).transpose()?;
    let group =
        args.source_security_group_id.as_ref().map(|v| known(v, "source_security_group_id").cloned()).transpose()?;
    Ok((cidr, group))
}

/// The ports to send: none for "all protocols" (EC2 ignores them there).
fn ports(args: &SecurityGroupRuleArgs) -> (Option<i32>, Option<i32>) {
    match args.protocol {
        RuleProtocol::All => (None, None),
        _ => (Some(args.from_port), Some(args.to_port)),
    }
}

fn permission(args: &SecurityGroupRuleArgs) -> Result<IpPermission, ProviderError> {
    let (cidr, group) = peer(args)?;
    let (from, to) = ports(args);
    let mut p = IpPermission::builder().ip_protocol(args.protocol.as_str()).set_from_port(from).set_to_port(to);
    if let Some(cidr) = cidr {
        p = p.ip_ranges(IpRange::builder().cidr_ip(cidr).set_description(args.description.clone()).build());
    }
    if let Some(group) = group {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder().group_id(group).set_description(args.description.clone()).build(),
        );
    }
    Ok(p.build())
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: SecurityGroupRuleArgs = cairn_provider_sdk::args(&req.inputs)?;
    let group = known(&args.security_group_id, "security_group_id")?;
    let permission = permission(&args)?;
    let (call, rules) = match args.rule_type {
        RuleType::Ingress => {
            let call = "AuthorizeSecurityGroupIngress";
            let out = c.ec2.authorize_security_group_ingress().group_id(group).ip_permissions(permission).send().await;
            (call, out.ec2(call, group)?.security_group_rules().to_vec())
        }
        RuleType::Egress => {
            let call = "AuthorizeSecurityGroupEgress";
            let out = c.ec2.authorize_security_group_egress().group_id(group).ip_permissions(permission).send().await;
            (call, out.ec2(call, group)?.security_group_rules().to_vec())
        }
    };
    let id = rules
        .first()
        .and_then(SecurityGroupRule::security_group_rule_id)
        .ok_or_else(|| missing(call, group, "security group rule ID"))?
        .to_owned();
    Ok(CreateResponse { outputs: outputs(&id, group)?, id })
}

fn outputs(id: &str, group: &str) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&SecurityGroupRuleOutputs { id: id.to_owned(), security_group_id: group.to_owned() })
}

/// The rule, or `None` if it does not exist.
async fn describe(c: &Clients, id: &str) -> Result<Option<SecurityGroupRule>, ProviderError> {
    let out = c.ec2.describe_security_group_rules().security_group_rule_ids(id).send().await;
    let out = optional(out.ec2("DescribeSecurityGroupRules", id))?;
    Ok(out.and_then(|o| o.security_group_rules().iter().find(|r| r.security_group_rule_id() == Some(id)).cloned()))
}

/// The rule a create interrupted before its ID was journaled made, found by
/// what it is: a group holds at most one rule per direction, protocol, ports
/// and peer (EC2 refuses a second one as `InvalidPermission.Duplicate`), so
/// the recorded inputs name at most one. `None`: the create never happened.
async fn find_by_inputs(c: &Clients, inputs: &Value) -> Result<Option<String>, ProviderError> {
    let args: SecurityGroupRuleArgs = cairn_provider_sdk::args(inputs)?;
    let group = known(&args.security_group_id, "security_group_id")?;
    let (cidr, peer_group) = peer(&args)?;
    let out = c.ec2.describe_security_group_rules().filters(filter("group-id", group)).send().await;
    // The group itself is gone, so the rule is too.
    let Some(out) = optional(out.ec2("DescribeSecurityGroupRules", group))? else { return Ok(None) };
    let egress = args.rule_type == RuleType::Egress;
    let same = |r: &&SecurityGroupRule| {
        let ports_match = args.protocol == RuleProtocol::All
            || (r.from_port() == Some(args.from_port) && r.to_port() == Some(args.to_port));
        r.is_egress() == Some(egress)
            && r.ip_protocol().and_then(RuleProtocol::from_aws) == Some(args.protocol)
            && ports_match
            && r.cidr_ipv4() == cidr.as_deref()
            && r.referenced_group_info().and_then(|g| g.group_id()) == peer_group.as_deref()
    };
    Ok(out.security_group_rules().iter().find(same).and_then(|r| r.security_group_rule_id()).map(str::to_owned))
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let id = match req.id.clone() {
        Some(id) => id,
        None => match find_by_inputs(c, &req.inputs).await? {
            Some(id) => id,
            None => return Ok(None),
        },
    };
    let Some(rule) = describe(c, &id).await? else { return Ok(None) };
    let raw = rule.ip_protocol().unwrap_or("-1");
    let protocol = RuleProtocol::from_aws(raw).ok_or_else(|| {
        ProviderError::internal(format!("security group rule `{id}` has protocol `{raw}`, which Cairn does not model"))
    })?;
    let (from_port, to_port) = match protocol {
        // EC2 ignores ports for every protocol; Cairn writes them -1.
        RuleProtocol::All => (-1, -1),
        _ => (rule.from_port().unwrap_or(-1), rule.to_port().unwrap_or(-1)),
    };
    let group = rule.group_id().unwrap_or_default().to_owned();
    let live = SecurityGroupRuleArgs {
        security_group_id: Input::Value(group.clone()),
        rule_type: if rule.is_egress() == Some(true) { RuleType::Egress } else { RuleType::Ingress },
        protocol,
        from_port,
        to_port,
        cidr_ipv4: rule.cidr_ipv4().map(|v| Input::Value(v.to_owned())),
        source_security_group_id: rule
            .referenced_group_info()
            .and_then(|g| g.group_id())
            .map(|v| Input::Value(v.to_owned())),
        description: rule.description().filter(|d| !d.is_empty()).map(str::to_owned),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&id, &group)?,
        id,
    }))
}

/// Only the description changes in place: ModifySecurityGroupRules restates
/// the whole rule with the new description.
pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let new: SecurityGroupRuleArgs = cairn_provider_sdk::args(&req.news)?;
    let id = req.id.as_str();
    let group = known(&new.security_group_id, "security_group_id")?;
    let (cidr, peer_group) = peer(&new)?;
    let (from, to) = ports(&new);
    let rule = SecurityGroupRuleRequest::builder()
        .ip_protocol(new.protocol.as_str())
        .set_from_port(from)
        .set_to_port(to)
        .set_cidr_ipv4(cidr)
        .set_referenced_group_id(peer_group)
        // An empty description clears it.
        .description(new.description.clone().unwrap_or_default())
        .build();
    c.ec2
        .modify_security_group_rules()
        .group_id(group)
        .security_group_rules(
            SecurityGroupRuleUpdate::builder().security_group_rule_id(id).security_group_rule(rule).build(),
        )
        .send()
        .await
        .ec2("ModifySecurityGroupRules", id)?;
    describe(c, id).await?.ok_or_else(|| gone("security group rule", id))?;
    Ok(UpdateResponse { outputs: outputs(id, group)? })
}

/// Revokes the rule; one already gone (or whose group is gone) counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let id = req.id.as_str();
    let Some(rule) = describe(c, id).await? else { return Ok(()) };
    let group = rule.group_id().unwrap_or_default();
    if rule.is_egress() == Some(true) {
        let out = c.ec2.revoke_security_group_egress().group_id(group).security_group_rule_ids(id).send().await;
        optional(out.ec2("RevokeSecurityGroupEgress", id))?;
    } else {
        let out = c.ec2.revoke_security_group_ingress().group_id(group).security_group_rule_ids(id).send().await;
        optional(out.ec2("RevokeSecurityGroupIngress", id))?;
    }
    Ok(())
}
