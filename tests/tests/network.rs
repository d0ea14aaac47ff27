//! The EC2 networking types, with the AWS provider in-process against the
//! emulator: each is created and read back through the EC2 API, updated in
//! place, replaced, imported by ID into a fresh state (after which nothing
//! changes) and destroyed.

use std::collections::BTreeMap;

use cairn_aws::{
    EipArgs, InternetGatewayArgs, NatGatewayArgs, RouteArgs, RouteTableArgs, RouteTableAssociationArgs, RuleProtocol,
    RuleType, SecurityGroupArgs, SecurityGroupRuleArgs, SubnetArgs, VpcArgs,
};
use cairn_core::{Input, Stack, Value};
use cairn_engine::Op;
use cairn_tests::inprocess::{Imports, InProcess, assert_all, ec2, ec2_tags as tag_map, op};
use cairn_tests::{assert_gone, output, unique};

fn expected_tags(team: &str, env: &str) -> BTreeMap<String, String> {
    [("team".to_owned(), team.to_owned()), ("env".to_owned(), env.to_owned())].into()
}

async fn vpc_dns(ec2: &aws_sdk_ec2::Client, id: &str) -> (bool, bool) {
    use aws_sdk_ec2::types::VpcAttributeName;
    let get =
        |attr: &'static str| ec2.describe_vpc_attribute().vpc_id(id).attribute(VpcAttributeName::from(attr)).send();
    let support = get("enableDnsSupport").await.unwrap();
    let hostnames = get("enableDnsHostnames").await.unwrap();
    (
        support.enable_dns_support().and_then(|v| v.value()).unwrap_or_default(),
        hostnames.enable_dns_hostnames().and_then(|v| v.value()).unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------
// Vpc, Subnet, InternetGateway, RouteTable

#[derive(Clone)]
struct Net {
    team: String,
    env: &'static str,
    vpc_cidr: &'static str,
    subnet_cidr: &'static str,
    hostnames: bool,
    public_ip: bool,
    attach: bool,
}

fn net(ctx: &Stack, n: &Net, imports: &Imports) {
    let tags = [("team", n.team.as_str()), ("env", n.env)];
    let vpc = VpcArgs::builder().cidr_block(n.vpc_cidr).enable_dns_hostnames(n.hostnames).tags(tags).build();
    let vpc = ctx.resource_with("vpc", vpc, imports.opts("vpc")).unwrap();
    let subnet = SubnetArgs::builder()
        .vpc_id(&vpc.id)
        .cidr_block(n.subnet_cidr)
        .availability_zone("us-east-1a")
        .map_public_ip_on_launch(n.public_ip)
        .tags(tags)
        .build();
    ctx.resource_with("subnet", subnet, imports.opts("subnet")).unwrap();
    let igw = InternetGatewayArgs {
        vpc_id: n.attach.then(|| Input::from(&vpc.id)),
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    };
    ctx.resource_with("igw", igw, imports.opts("igw")).unwrap();
    let rt = RouteTableArgs::builder().vpc_id(&vpc.id).tags(tags).build();
    ctx.resource_with("rt", rt, imports.opts("rt")).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn vpc_subnet_internet_gateway_and_route_table_round_trip() {
    let ec2 = ec2().await;
    let h = InProcess::new().await;
    let n0 = Net {
        team: unique("net"),
        env: "a",
        vpc_cidr: "10.0.0.0/16",
        subnet_cidr: "10.0.1.0/24",
        hostnames: true,
        public_ip: false,
        attach: true,
    };
    let none = Imports::default();

    // Create, and read back every declared property.
    assert_all(&h.up(|ctx| net(ctx, &n0, &none)).await, Op::Create);
    let (vpc_id, subnet_id, igw_id, rt_id) =
        (h.id("vpc").await, h.id("subnet").await, h.id("igw").await, h.id("rt").await);
    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("10.0.0.0/16"));
    assert_eq!(tag_map(vpcs.vpcs()[0].tags()), expected_tags(&n0.team, "a"));
    assert_eq!(vpc_dns(&ec2, &vpc_id).await, (true, true), "DNS support and host names on by default");
    let default_sg = output(&h.outputs("vpc").await, "default_security_group_id");
    assert!(default_sg.starts_with("sg-"), "{default_sg}");
    let subnets = ec2.describe_subnets().subnet_ids(&subnet_id).send().await.unwrap();
    let s = &subnets.subnets()[0];
    assert_eq!(
        (s.vpc_id(), s.cidr_block(), s.availability_zone(), s.map_public_ip_on_launch()),
        (Some(vpc_id.as_str()), Some("10.0.1.0/24"), Some("us-east-1a"), Some(false))
    );
    assert_eq!(tag_map(s.tags()), expected_tags(&n0.team, "a"));
    let igws = ec2.describe_internet_gateways().internet_gateway_ids(&igw_id).send().await.unwrap();
    let g = &igws.internet_gateways()[0];
    assert_eq!(g.attachments().iter().filter_map(|a| a.vpc_id()).collect::<Vec<_>>(), [vpc_id.as_str()]);
    assert_eq!(tag_map(g.tags()), expected_tags(&n0.team, "a"));
    let rts = ec2.describe_route_tables().route_table_ids(&rt_id).send().await.unwrap();
    assert_eq!(rts.route_tables()[0].vpc_id(), Some(vpc_id.as_str()));
    assert_eq!(tag_map(rts.route_tables()[0].tags()), expected_tags(&n0.team, "a"));
    assert_all(&h.preview_ops(|ctx| net(ctx, &n0, &none)).await, Op::Same);

    // In place: DNS host names off, public IPs on, the gateway detached, new tags.
    let n1 = Net { env: "b", hostnames: false, public_ip: true, attach: false, ..n0.clone() };
    let ops = h.up(|ctx| net(ctx, &n1, &none)).await;
    for name in ["vpc", "subnet", "igw", "rt"] {
        assert_eq!(op(&ops, name), Op::Update, "{name}: {ops:?}");
    }
    assert_eq!(h.id("subnet").await, subnet_id, "updated, not replaced");
    assert_eq!(vpc_dns(&ec2, &vpc_id).await, (true, false));
    let subnets = ec2.describe_subnets().subnet_ids(&subnet_id).send().await.unwrap();
    assert_eq!(subnets.subnets()[0].map_public_ip_on_launch(), Some(true));
    let igws = ec2.describe_internet_gateways().internet_gateway_ids(&igw_id).send().await.unwrap();
    assert!(igws.internet_gateways()[0].attachments().is_empty(), "detached");
    let rts = ec2.describe_route_tables().route_table_ids(&rt_id).send().await.unwrap();
    assert_eq!(tag_map(rts.route_tables()[0].tags()), expected_tags(&n0.team, "b"));

    // Replacements: a new subnet range; then a new VPC range, which replaces
    // everything in the VPC and moves the gateway.
    let n2 = Net { subnet_cidr: "10.0.2.0/24", attach: true, ..n1.clone() };
    let ops = h.up(|ctx| net(ctx, &n2, &none)).await;
    assert_eq!((op(&ops, "subnet"), op(&ops, "igw"), op(&ops, "vpc")), (Op::Replace, Op::Update, Op::Same));
    assert_gone(ec2.describe_subnets().subnet_ids(&subnet_id).send().await, "the replaced subnet");
    let n3 = Net { vpc_cidr: "10.1.0.0/16", subnet_cidr: "10.1.2.0/24", ..n2.clone() };
    let ops = h.up(|ctx| net(ctx, &n3, &none)).await;
    assert_eq!(
        [op(&ops, "vpc"), op(&ops, "subnet"), op(&ops, "igw"), op(&ops, "rt")],
        [Op::Replace, Op::Replace, Op::Update, Op::Replace]
    );
    assert_gone(ec2.describe_vpcs().vpc_ids(&vpc_id).send().await, "the replaced VPC");
    assert_gone(ec2.describe_route_tables().route_table_ids(&rt_id).send().await, "the replaced route table");
    let new_vpc = h.id("vpc").await;
    let igws = ec2.describe_internet_gateways().internet_gateway_ids(&igw_id).send().await.unwrap();
    assert_eq!(igws.internet_gateways()[0].attachments()[0].vpc_id(), Some(new_vpc.as_str()), "moved to the new VPC");

    // Import into a fresh state; afterwards nothing changes.
    let fresh = h.fresh();
    let imports = Imports::of(&h).await;
    assert_all(&fresh.up(|ctx| net(ctx, &n3, &imports)).await, Op::Import);
    assert_all(&fresh.preview_ops(|ctx| net(ctx, &n3, &none)).await, Op::Same);

    let (subnet_id, rt_id) = (h.id("subnet").await, h.id("rt").await);
    h.destroy().await;
    assert_gone(ec2.describe_vpcs().vpc_ids(&new_vpc).send().await, "the VPC");
    assert_gone(ec2.describe_subnets().subnet_ids(&subnet_id).send().await, "the subnet");
    assert_gone(ec2.describe_internet_gateways().internet_gateway_ids(&igw_id).send().await, "the gateway");
    assert_gone(ec2.describe_route_tables().route_table_ids(&rt_id).send().await, "the route table");
}

// ---------------------------------------------------------------------------
// Eip, NatGateway, Route, RouteTableAssociation

#[derive(Clone)]
struct Egress {
    team: String,
    env: &'static str,
    nat_eip: &'static str,
    /// The address the first elastic IP asks for (EC2 picks one when `None`).
    eip_address: Option<String>,
    to_nat: bool,
    destination: &'static str,
    assoc_table: &'static str,
    assoc_subnet: &'static str,
}

fn egress(ctx: &Stack, e: &Egress, imports: &Imports) {
    let tags = [("team", e.team.as_str()), ("env", e.env)];
    let vpc =
        ctx.resource_with("vpc", VpcArgs::builder().cidr_block("10.2.0.0/16").build(), imports.opts("vpc")).unwrap();
    let subnet = |name: &str, cidr: &str| {
        let args = SubnetArgs::builder().vpc_id(&vpc.id).cidr_block(cidr).availability_zone("us-east-1a").build();
        ctx.resource_with(name, args, imports.opts(name)).unwrap()
    };
    let (a, b) = (subnet("a", "10.2.1.0/24"), subnet("b", "10.2.2.0/24"));
    let igw = InternetGatewayArgs::builder().vpc_id(&vpc.id).build();
    let igw = ctx.resource_with("igw", igw, imports.opts("igw")).unwrap();
    let eip = EipArgs { address: e.eip_address.clone(), ..EipArgs::builder().tags(tags).build() };
    let eip = ctx.resource_with("eip", eip, imports.opts("eip")).unwrap();
    let eip2 = ctx.resource_with("eip2", EipArgs::builder().build(), imports.opts("eip2")).unwrap();
    let allocation = if e.nat_eip == "eip" { &eip.allocation_id } else { &eip2.allocation_id };
    let nat = NatGatewayArgs::builder().subnet_id(&a.id).allocation_id(allocation).tags(tags).build();
    let nat = ctx.resource_with("nat", nat, imports.opts("nat")).unwrap();
    let rt = ctx
        .resource_with("rt", RouteTableArgs::builder().vpc_id(&vpc.id).tags(tags).build(), imports.opts("rt"))
        .unwrap();
    let rt2 = ctx.resource_with("rt2", RouteTableArgs::builder().vpc_id(&vpc.id).build(), imports.opts("rt2")).unwrap();
    let route = RouteArgs {
        route_table_id: (&rt.id).into(),
        destination_cidr_block: e.destination.into(),
        gateway_id: (!e.to_nat).then(|| Input::from(&igw.id)),
        nat_gateway_id: e.to_nat.then(|| Input::from(&nat.id)),
    };
    ctx.resource_with("route", route, imports.opts("route")).unwrap();
    let table = if e.assoc_table == "rt" { &rt.id } else { &rt2.id };
    let subnet = if e.assoc_subnet == "a" { &a.id } else { &b.id };
    let assoc = RouteTableAssociationArgs::builder().route_table_id(table).subnet_id(subnet).build();
    ctx.resource_with("assoc", assoc, imports.opts("assoc")).unwrap();
}

/// The route to `destination` in `table`: (gateway, NAT gateway).
async fn route_target(
    ec2: &aws_sdk_ec2::Client,
    table: &str,
    destination: &str,
) -> Option<(Option<String>, Option<String>)> {
    let out = ec2.describe_route_tables().route_table_ids(table).send().await.unwrap();
    out.route_tables()[0]
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some(destination))
        .map(|r| (r.gateway_id().map(str::to_owned), r.nat_gateway_id().map(str::to_owned)))
}

/// The explicit route table association of `subnet`: (association ID, table).
async fn association(ec2: &aws_sdk_ec2::Client, subnet: &str) -> Option<(String, String)> {
    let filter = aws_sdk_ec2::types::Filter::builder().name("association.subnet-id").values(subnet).build();
    let out = ec2.describe_route_tables().filters(filter).send().await.unwrap();
    out.route_tables().iter().flat_map(|t| t.associations()).find(|a| a.subnet_id() == Some(subnet)).map(|a| {
        (
            a.route_table_association_id().unwrap_or_default().to_owned(),
            a.route_table_id().unwrap_or_default().to_owned(),
        )
    })
}

/// The NAT gateway's state, `None` when EC2 no longer lists it.
async fn nat_state(ec2: &aws_sdk_ec2::Client, id: &str) -> Option<String> {
    let out = ec2.describe_nat_gateways().nat_gateway_ids(id).send().await;
    out.ok()?.nat_gateways().first().and_then(|g| g.state()).map(|s| s.as_str().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn eip_nat_gateway_route_and_association_round_trip() {
    let ec2 = ec2().await;
    let h = InProcess::new().await;
    let e0 = Egress {
        team: unique("egress"),
        env: "a",
        nat_eip: "eip",
        eip_address: None,
        to_nat: false,
        destination: "0.0.0.0/0",
        assoc_table: "rt",
        assoc_subnet: "b",
    };
    let none = Imports::default();

    assert_all(&h.up(|ctx| egress(ctx, &e0, &none)).await, Op::Create);
    let (eip, nat, rt, rt2, igw) =
        (h.id("eip").await, h.id("nat").await, h.id("rt").await, h.id("rt2").await, h.id("igw").await);
    let (a, b, vpc) = (h.id("a").await, h.id("b").await, h.id("vpc").await);
    let addresses = ec2.describe_addresses().allocation_ids(&eip).send().await.unwrap();
    let address = &addresses.addresses()[0];
    assert_eq!(address.domain().map(|d| d.as_str()), Some("vpc"));
    assert_eq!(tag_map(address.tags()), expected_tags(&e0.team, "a"));
    assert_eq!(output(&h.outputs("eip").await, "public_ip"), address.public_ip().unwrap());
    let gateways = ec2.describe_nat_gateways().nat_gateway_ids(&nat).send().await.unwrap();
    let g = &gateways.nat_gateways()[0];
    assert_eq!(
        (g.subnet_id(), g.state().map(|s| s.as_str()), g.connectivity_type().map(|t| t.as_str())),
        (Some(a.as_str()), Some("available"), Some("public"))
    );
    assert_eq!(g.nat_gateway_addresses()[0].allocation_id(), Some(eip.as_str()));
    assert_eq!(tag_map(g.tags()), expected_tags(&e0.team, "a"));
    let tables = ec2.describe_route_tables().route_table_ids(&rt).send().await.unwrap();
    assert_eq!(tables.route_tables()[0].vpc_id(), Some(vpc.as_str()));
    assert_eq!(tag_map(tables.route_tables()[0].tags()), expected_tags(&e0.team, "a"));
    assert_eq!(h.id("route").await, format!("{rt}_0.0.0.0/0"));
    assert_eq!(route_target(&ec2, &rt, "0.0.0.0/0").await, Some((Some(igw.clone()), None)));
    let (assoc_id, table) = association(&ec2, &b).await.expect("subnet b is associated");
    assert_eq!((assoc_id, table), (h.id("assoc").await, rt.clone()));
    assert_all(&h.preview_ops(|ctx| egress(ctx, &e0, &none)).await, Op::Same);

    // In place: tags, the route's target, the association's table.
    let e1 = Egress { env: "b", to_nat: true, assoc_table: "rt2", ..e0.clone() };
    let ops = h.up(|ctx| egress(ctx, &e1, &none)).await;
    for name in ["eip", "nat", "rt", "route", "assoc"] {
        assert_eq!(op(&ops, name), Op::Update, "{name}: {ops:?}");
    }
    let addresses = ec2.describe_addresses().allocation_ids(&eip).send().await.unwrap();
    assert_eq!(tag_map(addresses.addresses()[0].tags()), expected_tags(&e0.team, "b"));
    let gateways = ec2.describe_nat_gateways().nat_gateway_ids(&nat).send().await.unwrap();
    assert_eq!(tag_map(gateways.nat_gateways()[0].tags()), expected_tags(&e0.team, "b"));
    let tables = ec2.describe_route_tables().route_table_ids(&rt).send().await.unwrap();
    assert_eq!(tag_map(tables.route_tables()[0].tags()), expected_tags(&e0.team, "b"));
    assert_eq!(route_target(&ec2, &rt, "0.0.0.0/0").await, Some((None, Some(nat.clone()))));
    let (current, table) = association(&ec2, &b).await.expect("subnet b is still associated");
    assert_eq!(table, rt2, "switched tables");
    assert_eq!(output(&h.outputs("assoc").await, "id"), current, "the output follows the new association ID");
    assert_all(&h.preview_ops(|ctx| egress(ctx, &e1, &none)).await, Op::Same);

    // Replacements: the NAT gateway gets another address, the route another
    // destination, the association another subnet, and the first elastic IP,
    // no longer the NAT gateway's, asks for a specific address.
    let wanted = format!("198.51.100.{}", 1 + uuid::Uuid::new_v4().as_bytes()[0] % 250);
    let e2 = Egress {
        nat_eip: "eip2",
        eip_address: Some(wanted.clone()),
        destination: "10.99.0.0/16",
        assoc_subnet: "a",
        ..e1.clone()
    };
    let ops = h.up(|ctx| egress(ctx, &e2, &none)).await;
    assert_eq!([op(&ops, "nat"), op(&ops, "route"), op(&ops, "assoc"), op(&ops, "eip")], [Op::Replace; 4], "{ops:?}");
    let new_eip = h.id("eip").await;
    assert_ne!(new_eip, eip, "a new allocation");
    assert_gone(ec2.describe_addresses().allocation_ids(&eip).send().await, "the replaced elastic IP");
    let addresses = ec2.describe_addresses().allocation_ids(&new_eip).send().await.unwrap();
    assert_eq!(addresses.addresses()[0].public_ip(), Some(wanted.as_str()));
    assert_eq!(tag_map(addresses.addresses()[0].tags()), expected_tags(&e0.team, "b"));
    assert!(matches!(nat_state(&ec2, &nat).await.as_deref(), None | Some("deleted")), "the old NAT gateway is deleted");
    let new_nat = h.id("nat").await;
    assert_eq!(nat_state(&ec2, &new_nat).await.as_deref(), Some("available"));
    assert_eq!(route_target(&ec2, &rt, "0.0.0.0/0").await, None, "the old route is gone");
    assert_eq!(route_target(&ec2, &rt, "10.99.0.0/16").await, Some((None, Some(new_nat.clone()))));
    assert_eq!(association(&ec2, &b).await, None, "the old association is gone");
    assert_eq!(association(&ec2, &a).await.map(|(_, t)| t), Some(rt2.clone()));

    let fresh = h.fresh();
    let imports = Imports::of(&h).await;
    assert_all(&fresh.up(|ctx| egress(ctx, &e2, &imports)).await, Op::Import);
    assert_all(&fresh.preview_ops(|ctx| egress(ctx, &e2, &none)).await, Op::Same);

    let eip2 = h.id("eip2").await;
    h.destroy().await;
    assert!(matches!(nat_state(&ec2, &new_nat).await.as_deref(), None | Some("deleted")), "the NAT gateway is deleted");
    assert_gone(ec2.describe_addresses().allocation_ids(&new_eip).send().await, "the elastic IP");
    assert_gone(ec2.describe_addresses().allocation_ids(&eip2).send().await, "the second elastic IP");
    assert_eq!(association(&ec2, &a).await, None, "the association is gone");
    // The route went with its table; its own delete is checked at the replacement above.
    assert_gone(ec2.describe_route_tables().route_table_ids(&rt).send().await, "the route table");
    assert_gone(ec2.describe_route_tables().route_table_ids(&rt2).send().await, "the second route table");
    assert_gone(ec2.describe_vpcs().vpc_ids(&vpc).send().await, "the VPC");
}

// ---------------------------------------------------------------------------
// SecurityGroup, SecurityGroupRule

#[derive(Clone)]
struct Firewall {
    team: String,
    env: &'static str,
    description: &'static str,
    revoke: bool,
    port: i32,
    rule_description: &'static str,
}

fn firewall(ctx: &Stack, f: &Firewall, imports: &Imports) {
    let tags = [("team", f.team.as_str()), ("env", f.env)];
    let vpc =
        ctx.resource_with("vpc", VpcArgs::builder().cidr_block("10.3.0.0/16").build(), imports.opts("vpc")).unwrap();
    let web = SecurityGroupArgs::builder()
        .vpc_id(&vpc.id)
        .description(f.description)
        .revoke_default_egress(f.revoke)
        .tags(tags)
        .build();
    let web = ctx.resource_with("web", web, imports.opts("web")).unwrap();
    let peer =
        ctx.resource_with("peer", SecurityGroupArgs::builder().vpc_id(&vpc.id).build(), imports.opts("peer")).unwrap();
    let https = SecurityGroupRuleArgs::builder()
        .security_group_id(&web.id)
        .rule_type(RuleType::Ingress)
        .protocol(RuleProtocol::Tcp)
        .from_port(f.port)
        .to_port(f.port)
        .cidr_ipv4("10.0.0.0/8")
        .description(f.rule_description)
        .build();
    ctx.resource_with("https", https, imports.opts("https")).unwrap();
    let to_peer = SecurityGroupRuleArgs::builder()
        .security_group_id(&web.id)
        .rule_type(RuleType::Egress)
        .protocol(RuleProtocol::All)
        .from_port(-1)
        .to_port(-1)
        .source_security_group_id(&peer.id)
        .build();
    ctx.resource_with("to_peer", to_peer, imports.opts("to_peer")).unwrap();
}

/// True when the group still has EC2's allow-all egress rule.
async fn allows_all_egress(ec2: &aws_sdk_ec2::Client, group: &str) -> bool {
    let out = ec2.describe_security_groups().group_ids(group).send().await.unwrap();
    out.security_groups()[0]
        .ip_permissions_egress()
        .iter()
        .any(|p| p.ip_protocol() == Some("-1") && p.ip_ranges().iter().any(|r| r.cidr_ip() == Some("0.0.0.0/0")))
}

async fn rule(ec2: &aws_sdk_ec2::Client, id: &str) -> aws_sdk_ec2::types::SecurityGroupRule {
    let out = ec2.describe_security_group_rules().security_group_rule_ids(id).send().await.unwrap();
    out.security_group_rules()[0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn security_group_and_rules_round_trip() {
    let ec2 = ec2().await;
    let h = InProcess::new().await;
    let f0 = Firewall {
        team: unique("fw"),
        env: "a",
        description: "web servers",
        revoke: false,
        port: 443,
        rule_description: "https",
    };
    let none = Imports::default();

    assert_all(&h.up(|ctx| firewall(ctx, &f0, &none)).await, Op::Create);
    let (vpc, web, peer) = (h.id("vpc").await, h.id("web").await, h.id("peer").await);
    let (https, to_peer) = (h.id("https").await, h.id("to_peer").await);
    let groups = ec2.describe_security_groups().group_ids(&web).send().await.unwrap();
    let g = &groups.security_groups()[0];
    let name = output(&h.outputs("web").await, "name");
    assert!(name.starts_with("web-") && name.len() == "web-".len() + 7, "auto-named: {name}");
    assert_eq!(
        (g.group_name(), g.description(), g.vpc_id()),
        (Some(name.as_str()), Some("web servers"), Some(vpc.as_str()))
    );
    assert_eq!(tag_map(g.tags()), expected_tags(&f0.team, "a"));
    assert!(allows_all_egress(&ec2, &web).await, "the default egress rule is kept unless revoked");
    let peer_groups = ec2.describe_security_groups().group_ids(&peer).send().await.unwrap();
    assert_eq!(peer_groups.security_groups()[0].description(), Some("Managed by Cairn"));
    let r = rule(&ec2, &https).await;
    assert_eq!(
        (r.group_id(), r.is_egress(), r.ip_protocol(), r.from_port(), r.to_port(), r.cidr_ipv4(), r.description()),
        (Some(web.as_str()), Some(false), Some("tcp"), Some(443), Some(443), Some("10.0.0.0/8"), Some("https"))
    );
    let r = rule(&ec2, &to_peer).await;
    assert_eq!((r.group_id(), r.is_egress(), r.ip_protocol()), (Some(web.as_str()), Some(true), Some("-1")));
    assert_eq!(r.referenced_group_info().and_then(|g| g.group_id()), Some(peer.as_str()));
    assert_all(&h.preview_ops(|ctx| firewall(ctx, &f0, &none)).await, Op::Same);

    // In place: revoke the default egress, retag, describe the rule anew.
    let f1 = Firewall { env: "b", revoke: true, rule_description: "https from the office", ..f0.clone() };
    let ops = h.up(|ctx| firewall(ctx, &f1, &none)).await;
    assert_eq!((op(&ops, "web"), op(&ops, "https"), op(&ops, "to_peer")), (Op::Update, Op::Update, Op::Same));
    assert!(!allows_all_egress(&ec2, &web).await, "revoked");
    let groups = ec2.describe_security_groups().group_ids(&web).send().await.unwrap();
    assert_eq!(tag_map(groups.security_groups()[0].tags()), expected_tags(&f0.team, "b"));
    assert_eq!(rule(&ec2, &https).await.description(), Some("https from the office"));
    assert_eq!(h.id("https").await, https, "updated, not replaced");
    assert_all(&h.preview_ops(|ctx| firewall(ctx, &f1, &none)).await, Op::Same);

    // Replacements: a new description replaces the group (and so its rules); a new port replaces a rule.
    let f2 = Firewall { description: "web servers v2", port: 8443, ..f1.clone() };
    let ops = h.up(|ctx| firewall(ctx, &f2, &none)).await;
    assert_eq!(
        [op(&ops, "web"), op(&ops, "https"), op(&ops, "to_peer"), op(&ops, "peer")],
        [Op::Replace, Op::Replace, Op::Replace, Op::Same]
    );
    assert_gone(ec2.describe_security_groups().group_ids(&web).send().await, "the replaced group");
    assert_gone(ec2.describe_security_group_rules().security_group_rule_ids(&https).send().await, "the replaced rule");
    let (new_web, new_https) = (h.id("web").await, h.id("https").await);
    assert_ne!(output(&h.outputs("web").await, "name"), name, "a create-first replacement gets a fresh auto-name");
    assert!(!allows_all_egress(&ec2, &new_web).await, "the replacement revokes the default egress too");
    let r = rule(&ec2, &new_https).await;
    assert_eq!((r.group_id(), r.from_port(), r.to_port()), (Some(new_web.as_str()), Some(8443), Some(8443)));

    let fresh = h.fresh();
    let imports = Imports::of(&h).await;
    assert_all(&fresh.up(|ctx| firewall(ctx, &f2, &imports)).await, Op::Import);
    assert_all(&fresh.preview_ops(|ctx| firewall(ctx, &f2, &none)).await, Op::Same);

    let new_to_peer = h.id("to_peer").await;
    h.destroy().await;
    assert_gone(ec2.describe_security_groups().group_ids(&new_web).send().await, "the group");
    assert_gone(ec2.describe_security_groups().group_ids(&peer).send().await, "the peer group");
    for id in [new_https, new_to_peer] {
        assert_gone(ec2.describe_security_group_rules().security_group_rule_ids(&id).send().await, "a rule");
    }
    assert_gone(ec2.describe_vpcs().vpc_ids(&vpc).send().await, "the VPC");
}

/// A create interrupted before its ID was journaled leaves a resource EC2
/// names only by a generated ID: the provider finds it again by the
/// `cairn:urn` tag it set in the create call, so the next run adopts it
/// instead of making a second one.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_create_is_found_by_its_urn_tag() {
    use cairn_core::{CheckRequest, CreateRequest, Provider, ReadRequest, Urn};
    let provider = cairn_provider_aws::AwsProvider::new();
    let config = serde_json::json!({"region": "us-east-1", "endpoint": cairn_tests::aws_endpoint()});
    provider.configure(Value::from_json(&config)).await.unwrap();
    let urn = Urn::parse(&format!("urn:cairn:dev::{}::aws:ec2:Vpc::net", unique("urn"))).unwrap();
    let news =
        Value::from_serialize(&VpcArgs::builder().cidr_block("10.42.0.0/16").tags([("team", "ml")]).build()).unwrap();
    let inputs = provider.check(CheckRequest { urn: urn.clone(), olds: None, news }).await.unwrap().inputs;
    let created = provider.create(CreateRequest { urn: urn.clone(), inputs: inputs.clone() }).await.unwrap();

    let tags = ec2().await.describe_vpcs().vpc_ids(&created.id).send().await.unwrap().vpcs()[0].tags().to_vec();
    assert!(tags.iter().any(|t| t.key() == Some("cairn:urn") && t.value() == Some(urn.as_str())), "{tags:?}");

    // What reconciliation asks after a crash: no ID, only the URN and inputs.
    let found =
        provider.read(ReadRequest { urn: urn.clone(), id: None, inputs: inputs.clone(), outputs: None }).await.unwrap();
    let found = found.expect("the VPC is found by its URN tag");
    assert_eq!(found.id, created.id);
    assert_eq!(found.inputs.get("tags").map(Value::to_json), Some(serde_json::json!({"team": "ml"})), "URN tag hidden");
    let other = Urn::parse(&format!("urn:cairn:dev::{}::aws:ec2:Vpc::net", unique("urn"))).unwrap();
    assert!(
        provider.read(ReadRequest { urn: other, id: None, inputs, outputs: None }).await.unwrap().is_none(),
        "never made"
    );
    ec2().await.delete_vpc().vpc_id(&created.id).send().await.unwrap();
}

/// EC2 cannot tag a rule in the call that creates it, but a group holds at
/// most one rule per direction, protocol, ports and peer: an interrupted
/// create of a rule is found again by its recorded inputs, and a rule that
/// differs in any of them is not mistaken for it.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_rule_create_is_found_by_its_inputs() {
    use cairn_core::{CheckRequest, CreateRequest, Provider, ReadRequest, Urn};
    let ec2 = ec2().await;
    let vpc = ec2.create_vpc().cidr_block("10.43.0.0/16").send().await.unwrap();
    let vpc = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_owned();
    let group = ec2.create_security_group().group_name(unique("rules")).description("rules").vpc_id(&vpc);
    let group = group.send().await.unwrap().group_id().unwrap().to_owned();

    let provider = cairn_provider_aws::AwsProvider::new();
    let config = serde_json::json!({"region": "us-east-1", "endpoint": cairn_tests::aws_endpoint()});
    provider.configure(Value::from_json(&config)).await.unwrap();
    let rule = |port: i32| {
        SecurityGroupRuleArgs::builder()
            .security_group_id(group.as_str())
            .rule_type(RuleType::Ingress)
            .protocol(RuleProtocol::Tcp)
            .from_port(port)
            .to_port(port)
            .cidr_ipv4("10.0.0.0/8")
            .build()
    };
    let urn = Urn::parse(&format!("urn:cairn:dev::{}::aws:ec2:SecurityGroupRule::https", unique("urn"))).unwrap();
    let checked = |port| {
        let news = Value::from_serialize(&rule(port)).unwrap();
        provider.check(CheckRequest { urn: urn.clone(), olds: None, news })
    };
    let inputs = checked(443).await.unwrap().inputs;
    let created = provider.create(CreateRequest { urn: urn.clone(), inputs: inputs.clone() }).await.unwrap();

    // What reconciliation asks after a crash: no ID, only the URN and inputs.
    let found = provider.read(ReadRequest { urn: urn.clone(), id: None, inputs, outputs: None }).await.unwrap();
    assert_eq!(found.expect("the rule is found by its inputs").id, created.id);
    let other_port = checked(8443).await.unwrap().inputs;
    let none =
        provider.read(ReadRequest { urn: urn.clone(), id: None, inputs: other_port, outputs: None }).await.unwrap();
    assert!(none.is_none(), "a rule on another port is not the one the create made: {none:?}");

    ec2.revoke_security_group_ingress().group_id(&group).security_group_rule_ids(&created.id).send().await.unwrap();
    ec2.delete_security_group().group_id(&group).send().await.unwrap();
    ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap();
}
