//! `template.yaml`'s IAM policies against the AWS calls the code really makes.
//!
//! DynamoDB Local and moto ignore IAM, so a call the deployed role would deny
//! passes every other test. `scripts/test.sh` puts a recording proxy
//! (`scripts/aws-recorder.py`) in front of both and gives each binary its own
//! access key id: the name of the template resource that holds its policy.
//! After the suite, these tests resolve each policy (actions, resources,
//! `dynamodb:LeadingKeys`, `dynamodb:Attributes`, `dynamodb:Select`) and fail
//! for every recorded call it would deny and for every grant no call used.
//! They are `#[ignore]`d because they read what the whole run recorded;
//! `scripts/test.sh` runs them last.
//!
//! What this cannot see: service control policies, permission boundaries,
//! resource policies and KMS key policies, which live outside the template.

use crate::common::{ADMIN_IDENTITY, AUTHORIZER_IDENTITY, ISSUER_IDENTITY, SWEEPER_IDENTITY};
use serde_json::Value as Json;
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use token_issuer::store::dynamo::{ACCOUNT_ATTRIBUTES, TOKEN_STATE_ATTRIBUTES};

/// Where scripts/test.sh has the proxy write its record.
const LOG_VAR: &str = "AWS_CALL_LOG";

/// The identities checked, each with the template resource of its policy.
const IDENTITIES: [&str; 4] = [
    ISSUER_IDENTITY,
    AUTHORIZER_IDENTITY,
    ADMIN_IDENTITY,
    SWEEPER_IDENTITY,
];

/// A request as IAM evaluates it: one action on one resource with its
/// condition keys. A batch is one request per table, a transaction one per
/// item, as IAM authorises them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Request {
    action: String,
    /// The template's logical id of the table or secret.
    resource: String,
    /// Partition key values (`dynamodb:LeadingKeys`).
    leading_keys: Vec<String>,
    /// `dynamodb:Attributes`; `None` where the request names none, so every
    /// attribute of the item is read or returned.
    attributes: Option<Vec<String>>,
    /// `dynamodb:Select` of a read.
    select: Option<String>,
    /// `dynamodb:ReturnValues` of a write.
    return_values: Option<String>,
}

/// Which template resource a test's table or secret stands for: the tests
/// name them `users-…`, `tokens-…`, `signing-keys-…`, `public-keys-…` and
/// `factor-key-…`.
fn resource_of(name: &str) -> Result<&'static str, String> {
    // An ARN names the secret after its last colon.
    let short = name.rsplit(':').next().unwrap_or(name);
    for (prefix, resource) in [
        ("users-", "UsersTable"),
        ("tokens-", "TokensTable"),
        ("signing-keys-", "SigningKeySecret"),
        ("public-keys-", "SigningPublicKeysSecret"),
        ("factor-key-", "FactorKeySecret"),
    ] {
        if short.starts_with(prefix) {
            return Ok(resource);
        }
    }
    Err(format!("no template resource for {name:?}"))
}

fn key_value(key: &Json) -> Result<String, String> {
    let map = key.as_object().ok_or("a key is not an object")?;
    for name in ["pk", "username"] {
        if let Some(v) = map.get(name) {
            return v["S"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("key {name} is not a string"));
        }
    }
    Err(format!("no partition key in {key}"))
}

/// Attribute names of a projection, `#names` resolved.
fn projection(spec: &Json) -> Option<Vec<String>> {
    let expr = spec["ProjectionExpression"].as_str()?;
    let names = &spec["ExpressionAttributeNames"];
    Some(
        expr.split(',')
            .map(|p| {
                let p = p.trim();
                let top = p.split(['.', '[']).next().unwrap_or(p);
                names[top].as_str().unwrap_or(top).to_string()
            })
            .collect(),
    )
}

/// The attribute names an update expression writes, `#names` resolved.
fn updated_attributes(body: &Json) -> Vec<String> {
    let names = &body["ExpressionAttributeNames"];
    let expr = body["UpdateExpression"].as_str().unwrap_or_default();
    let mut out = BTreeSet::new();
    for clause in expr.split(',') {
        for word in clause.split(|c: char| c.is_whitespace() || c == '=' || c == '(') {
            let w = word.trim_matches(|c: char| c == ')' || c == '+' || c == '-');
            let keyword = [
                "SET",
                "REMOVE",
                "ADD",
                "DELETE",
                "if_not_exists",
                "list_append",
            ]
            .contains(&w);
            if w.is_empty() || w.starts_with(':') || keyword {
                continue;
            }
            let top = w.split(['.', '[']).next().unwrap_or(w);
            out.insert(names[top].as_str().unwrap_or(top).to_string());
        }
    }
    out.into_iter().collect()
}

fn read_select(attributes: &Option<Vec<String>>) -> Option<String> {
    Some(
        if attributes.is_some() {
            "SPECIFIC_ATTRIBUTES"
        } else {
            "ALL_ATTRIBUTES"
        }
        .to_string(),
    )
}

/// The IAM requests of one recorded call.
fn requests(target: &str, body: &Json) -> Result<Vec<Request>, String> {
    let (service, op) = target
        .split_once('.')
        .ok_or_else(|| format!("odd target {target}"))?;
    let table = || {
        body["TableName"]
            .as_str()
            .ok_or_else(|| format!("{op} without TableName"))
            .and_then(resource_of)
    };
    let base = |action: &str, resource: &str| Request {
        action: action.to_string(),
        resource: resource.to_string(),
        leading_keys: Vec::new(),
        attributes: None,
        select: None,
        return_values: None,
    };
    if service.starts_with("secretsmanager") {
        let id = body["SecretId"]
            .as_str()
            .or(body["Name"].as_str())
            .ok_or_else(|| format!("{op} without SecretId"))?;
        return Ok(vec![base(
            &format!("secretsmanager:{op}"),
            resource_of(id)?,
        )]);
    }
    if !service.starts_with("DynamoDB_") {
        return Err(format!("unknown service {service}"));
    }
    let action = format!("dynamodb:{op}");
    let return_values = body["ReturnValues"]
        .as_str()
        .filter(|v| *v != "NONE")
        .map(str::to_string);
    Ok(match op {
        "GetItem" => {
            let attributes = projection(body);
            vec![Request {
                leading_keys: vec![key_value(&body["Key"])?],
                select: read_select(&attributes),
                attributes,
                ..base(&action, table()?)
            }]
        }
        "PutItem" => {
            let item = body["Item"].as_object().ok_or("PutItem without Item")?;
            vec![Request {
                leading_keys: vec![key_value(&body["Item"])?],
                attributes: Some(item.keys().cloned().collect()),
                return_values,
                ..base(&action, table()?)
            }]
        }
        "UpdateItem" => vec![Request {
            leading_keys: vec![key_value(&body["Key"])?],
            attributes: Some(updated_attributes(body)),
            return_values,
            ..base(&action, table()?)
        }],
        "DeleteItem" => vec![Request {
            leading_keys: vec![key_value(&body["Key"])?],
            return_values,
            ..base(&action, table()?)
        }],
        "Scan" | "Query" => {
            let attributes = projection(body);
            // A read of an index is a request on the index's own ARN.
            let resource = match body["IndexName"].as_str() {
                Some(index) => format!("{}/index/{index}", table()?),
                None => table()?.to_string(),
            };
            vec![Request {
                select: body["Select"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| read_select(&attributes)),
                attributes,
                ..base(&action, &resource)
            }]
        }
        "BatchGetItem" => {
            let items = body["RequestItems"]
                .as_object()
                .ok_or("BatchGetItem without RequestItems")?;
            let mut out = Vec::new();
            for (name, spec) in items {
                let keys = spec["Keys"].as_array().ok_or("BatchGetItem without Keys")?;
                let attributes = projection(spec);
                out.push(Request {
                    leading_keys: keys.iter().map(key_value).collect::<Result<_, _>>()?,
                    select: read_select(&attributes),
                    attributes,
                    ..base(&action, resource_of(name)?)
                });
            }
            out
        }
        "TransactWriteItems" => {
            let items = body["TransactItems"]
                .as_array()
                .ok_or("TransactWriteItems without TransactItems")?;
            let mut out = Vec::new();
            for item in items {
                let (kind, spec) = item
                    .as_object()
                    .and_then(|m| m.iter().next())
                    .ok_or("an empty transaction item")?;
                let (action, key) = match kind.as_str() {
                    "Put" => ("dynamodb:PutItem", &spec["Item"]),
                    "Update" => ("dynamodb:UpdateItem", &spec["Key"]),
                    "Delete" => ("dynamodb:DeleteItem", &spec["Key"]),
                    "ConditionCheck" => ("dynamodb:ConditionCheckItem", &spec["Key"]),
                    other => return Err(format!("unknown transaction item {other}")),
                };
                let table = spec["TableName"].as_str().ok_or("no TableName")?;
                out.push(Request {
                    leading_keys: vec![key_value(key)?],
                    ..base(action, resource_of(table)?)
                });
            }
            out
        }
        "CreateTable" | "DescribeTable" | "UpdateTable" | "UpdateTimeToLive"
        | "DescribeTimeToLive" | "DeleteTable" => vec![base(&action, table()?)],
        other => return Err(format!("no IAM model of dynamodb:{other}: add it here")),
    })
}

/// One `Allow` or `Deny` statement, resolved.
#[derive(Debug)]
struct Statement {
    sid: String,
    allow: bool,
    actions: Vec<String>,
    /// Logical ids, or `*`.
    resources: Vec<String>,
    /// operator → condition key → values.
    conditions: Vec<(String, String, Vec<String>)>,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(s) => s.iter().flat_map(strings).collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![logical_id(other)],
    }
}

/// What the multi-region layout names each table and secret after the stack
/// (`${AWS::StackName}-users`, `${AWS::StackName}/signing-keys`): the same
/// resource as the single-region one of that logical id.
const STACK_NAMED: [(&str, &str); 5] = [
    ("dynamodb:${AWS::Region}:${AWS::AccountId}:table/${AWS::StackName}-users", "UsersTable"),
    ("dynamodb:${AWS::Region}:${AWS::AccountId}:table/${AWS::StackName}-tokens", "TokensTable"),
    (
        "secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/signing-keys-??????",
        "SigningKeySecret",
    ),
    (
        "secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/factor-key-??????",
        "FactorKeySecret",
    ),
    (
        "secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/public-keys-??????",
        "SigningPublicKeysSecret",
    ),
];

/// `!GetAtt X.Arn` and `!Ref X` name resource X; `*` is anything. A
/// multi-region ARN (`!Sub arn:…:table/${AWS::StackName}-tokens`) names the
/// resource it stands for, and `!If [IsMultiRegion, a, b]` must name the
/// same one in both branches.
fn logical_id(v: &Value) -> String {
    match v {
        Value::String(s) if s == "*" => s.clone(),
        Value::Tagged(t) if t.tag == "If" => {
            let branches = t.value.as_sequence().expect("!If [condition, a, b]");
            let condition = branches[0].as_str().unwrap_or_default();
            assert!(
                ["IsMultiRegion", "IsSecondary"].contains(&condition),
                "a policy resource may differ only by the multi-region layout: {condition}"
            );
            let (a, b) = (logical_id(&branches[1]), logical_id(&branches[2]));
            assert_eq!(a, b, "both layouts must name one resource");
            a
        }
        Value::Tagged(t)
            if t.tag == "Sub" && t.value.as_str().is_some_and(|s| s.starts_with("arn:")) =>
        {
            let text = t.value.as_str().unwrap_or_default();
            let rest = text
                .strip_prefix("arn:${AWS::Partition}:")
                .unwrap_or_else(|| panic!("an ARN in any partition: {text}"));
            STACK_NAMED
                .iter()
                .find_map(|(named, id)| rest.strip_prefix(named).map(|more| format!("{id}{more}")))
                .unwrap_or_else(|| panic!("a multi-region name this check does not know: {text}"))
        }
        Value::Tagged(t) if t.tag == "GetAtt" => {
            let target = t.value.as_str().expect("!GetAtt X.Arn");
            target
                .strip_suffix(".Arn")
                .unwrap_or_else(|| panic!("a resource must be X.Arn, not {target}"))
                .to_string()
        }
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str().expect("!Ref X").to_string(),
        // `!Sub ${X.Arn}/index/I`: index I of table X.
        Value::Tagged(t) if t.tag == "Sub" => {
            let text = t.value.as_str().expect("!Sub with a string");
            let (table, rest) = text
                .strip_prefix("${")
                .and_then(|s| s.split_once(".Arn}"))
                .unwrap_or_else(|| panic!("a !Sub resource must be ${{X.Arn}}/…: {text}"));
            assert!(rest.starts_with("/index/"), "only an index: {text}");
            format!("{table}{rest}")
        }
        other => panic!("a policy resource this check cannot resolve: {other:?}"),
    }
}

fn statements_of(doc: &Value, owner: &str) -> Vec<Statement> {
    doc["Statement"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{owner}: an inline policy document with Statement"))
        .iter()
        .map(|s| {
            for unsupported in ["NotAction", "NotResource", "Principal", "NotPrincipal"] {
                assert!(
                    s.get(unsupported).is_none(),
                    "{owner}: {unsupported} is not modelled"
                );
            }
            let mut conditions = Vec::new();
            if let Some(c) = s["Condition"].as_mapping() {
                for (op, keys) in c {
                    for (key, values) in keys.as_mapping().expect("condition keys") {
                        conditions.push((
                            op.as_str().unwrap().to_string(),
                            key.as_str().unwrap().to_string(),
                            strings(values),
                        ));
                    }
                }
            }
            Statement {
                sid: s["Sid"].as_str().unwrap_or("(no Sid)").to_string(),
                allow: match s["Effect"].as_str() {
                    Some("Allow") => true,
                    Some("Deny") => false,
                    other => panic!("{owner}: Effect {other:?}"),
                },
                actions: strings(&s["Action"]),
                // A list of resources; not `!If [c, a, b]`, which reads as one.
                resources: match &s["Resource"] {
                    Value::Sequence(r) => r.iter().map(logical_id).collect(),
                    one => vec![logical_id(one)],
                },
                conditions,
            }
        })
        .collect()
}

/// The statements of an identity's policy: a function's inline `Policies`,
/// or a managed policy's document.
fn policy(template: &Value, identity: &str) -> Vec<Statement> {
    let r = &template["Resources"][identity];
    match r["Type"].as_str() {
        Some("AWS::Serverless::Function") => r["Properties"]["Policies"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{identity} has no Policies"))
            .iter()
            .flat_map(|p| statements_of(p, identity))
            .collect(),
        Some("AWS::IAM::ManagedPolicy") => {
            statements_of(&r["Properties"]["PolicyDocument"], identity)
        }
        other => panic!("{identity}: no policy in a resource of type {other:?}"),
    }
}

/// IAM's wildcard match (`*` any run, `?` one character).
fn like(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    go(&p, &v)
}

/// The values of a condition key in a request: `None` where the request
/// does not carry the key.
fn context(r: &Request, key: &str) -> Option<Vec<String>> {
    match key {
        "dynamodb:LeadingKeys" => Some(r.leading_keys.clone()),
        // A read of every attribute is a value no list of attributes holds.
        "dynamodb:Attributes" => Some(
            r.attributes
                .clone()
                .unwrap_or_else(|| vec!["<every attribute>".into()]),
        ),
        "dynamodb:Select" => r.select.clone().map(|s| vec![s]),
        "dynamodb:ReturnValues" => r.return_values.clone().map(|s| vec![s]),
        other => panic!("condition key {other} is not modelled"),
    }
}

fn condition_holds(r: &Request, op: &str, key: &str, allowed: &[String]) -> bool {
    let values = context(r, key);
    let (set_op, op) = match op.split_once(':') {
        Some((set, op)) => (Some(set), op),
        None => (None, op),
    };
    let (op, if_exists) = match op.strip_suffix("IfExists") {
        Some(op) => (op, true),
        None => (op, false),
    };
    let matches = |v: &str| match op {
        "StringEquals" => allowed.iter().any(|a| a == v),
        "StringLike" => allowed.iter().any(|a| like(a, v)),
        other => panic!("condition operator {other} is not modelled"),
    };
    match (set_op, values) {
        // IAM: ForAllValues holds for a request without the key.
        (Some("ForAllValues"), None) => true,
        (Some("ForAllValues"), Some(vs)) => vs.iter().all(|v| matches(v)),
        (Some("ForAnyValue"), vs) => vs.is_some_and(|vs| vs.iter().any(|v| matches(v))),
        (Some(other), _) => panic!("set operator {other} is not modelled"),
        (None, None) => if_exists,
        (None, Some(vs)) => vs.len() == 1 && matches(&vs[0]),
    }
}

fn statement_matches(s: &Statement, r: &Request) -> bool {
    let action = s
        .actions
        .iter()
        .any(|a| like(&a.to_ascii_lowercase(), &r.action.to_ascii_lowercase()));
    let resource = s.resources.iter().any(|x| x == "*" || *x == r.resource);
    action
        && resource
        && s.conditions
            .iter()
            .all(|(op, key, values)| condition_holds(r, op, key, values))
}

/// The allowing statements, or `None` if IAM would deny the request.
fn allowed_by<'a>(policy: &'a [Statement], r: &Request) -> Option<Vec<&'a Statement>> {
    if policy.iter().any(|s| !s.allow && statement_matches(s, r)) {
        return None;
    }
    let allows: Vec<&Statement> = policy
        .iter()
        .filter(|s| s.allow && statement_matches(s, r))
        .collect();
    (!allows.is_empty()).then_some(allows)
}

fn template() -> Value {
    let path = format!("{}/template.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_norway::from_str(&std::fs::read_to_string(path).expect("template.yaml"))
        .expect("template.yaml is YAML")
}

/// Every distinct request of each checked identity the run recorded.
fn recorded() -> BTreeMap<String, BTreeSet<Request>> {
    let path = std::env::var(LOG_VAR).unwrap_or_else(|_| {
        panic!("{LOG_VAR} is not set: run these through scripts/test.sh, which records the calls")
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out: BTreeMap<String, BTreeSet<Request>> = BTreeMap::new();
    let mut problems = Vec::new();
    for line in text.lines() {
        let call: Json = serde_json::from_str(line).expect("a JSON line");
        let who = call["who"].as_str().unwrap_or_default();
        if !IDENTITIES.contains(&who) {
            continue;
        }
        let target = call["target"].as_str().unwrap_or_default();
        match requests(target, &call["body"]) {
            Ok(rs) => out.entry(who.to_string()).or_default().extend(rs),
            Err(e) => problems.push(format!("{who}: {target}: {e}")),
        }
    }
    assert!(
        problems.is_empty(),
        "calls this check cannot model:\n{}",
        problems.join("\n")
    );
    out
}

fn describe(r: &Request) -> String {
    let keys: BTreeSet<String> = r
        .leading_keys
        .iter()
        .map(|k| {
            k.split_once('#')
                .map_or("<username>".into(), |(p, _)| format!("{p}#…"))
        })
        .collect();
    format!(
        "{} on {} (keys {:?}, attributes {:?}, select {:?}, return values {:?})",
        r.action, r.resource, keys, r.attributes, r.select, r.return_values
    )
}

#[test]
#[ignore = "reads the whole run's record: scripts/test.sh runs it last"]
fn every_recorded_call_is_allowed_by_the_template() {
    let t = template();
    let mut denied = BTreeSet::new();
    for (who, calls) in recorded() {
        let policy = policy(&t, &who);
        for r in &calls {
            if allowed_by(&policy, r).is_none() {
                denied.insert(format!("{who} would be denied {}", describe(r)));
            }
        }
    }
    assert!(
        denied.is_empty(),
        "template.yaml denies calls the code makes:\n{}",
        denied.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
#[ignore = "reads the whole run's record: scripts/test.sh runs it after the whole suite"]
fn every_grant_of_the_template_is_used() {
    let t = template();
    let calls = recorded();
    let mut unused = Vec::new();
    for who in IDENTITIES {
        let policy = policy(&t, who);
        let mine = calls
            .get(who)
            .unwrap_or_else(|| panic!("no call of {who} was recorded"));
        for s in policy.iter().filter(|s| s.allow) {
            let used: Vec<&Request> = mine
                .iter()
                .filter(|r| {
                    allowed_by(&policy, r).is_some_and(|a| a.iter().any(|x| std::ptr::eq(*x, s)))
                })
                .collect();
            for action in &s.actions {
                assert!(
                    !action.contains('*'),
                    "{who} {}: wildcard action {action}",
                    s.sid
                );
                for resource in &s.resources {
                    let hit = used
                        .iter()
                        .any(|r| r.action.eq_ignore_ascii_case(action) && &r.resource == resource);
                    if !hit {
                        unused.push(format!("{who} {}: {action} on {resource}", s.sid));
                    }
                }
            }
            for (op, key, values) in &s.conditions {
                if key != "dynamodb:LeadingKeys" {
                    continue;
                }
                for pattern in values {
                    let hit = used
                        .iter()
                        .any(|r| r.leading_keys.iter().any(|k| like(pattern, k)));
                    if !hit {
                        unused.push(format!("{who} {}: {op} {key} {pattern}", s.sid));
                    }
                }
            }
        }
    }
    assert!(
        unused.is_empty(),
        "template.yaml grants what no test used (remove it, or test the path that needs it):\n{}",
        unused.join("\n")
    );
}

#[test]
fn the_model_denies_what_iam_denies() {
    let t = template();
    let issuer = policy(&t, ISSUER_IDENTITY);
    let get = |resource: &str, key: &str| Request {
        action: "dynamodb:GetItem".into(),
        resource: resource.into(),
        leading_keys: vec![key.into()],
        attributes: None,
        select: Some("ALL_ATTRIBUTES".into()),
        return_values: None,
    };
    assert!(allowed_by(&issuer, &get("TokensTable", "RF#x")).is_some());
    // Another table, another action, a client item written, an unknown key.
    assert!(allowed_by(&issuer, &get("NoSuchTable", "RF#x")).is_none());
    let put_client = Request {
        action: "dynamodb:PutItem".into(),
        attributes: Some(vec!["pk".into()]),
        ..get("TokensTable", "CL#app")
    };
    assert!(allowed_by(&issuer, &put_client).is_none());
    let scan = Request {
        action: "dynamodb:Scan".into(),
        ..get("UsersTable", "x")
    };
    assert!(allowed_by(&issuer, &scan).is_none());
    // The authorizer reads named attributes of a user, never all of them,
    // and never the password hash.
    let authorizer = policy(&t, AUTHORIZER_IDENTITY);
    let whole_user = Request {
        action: "dynamodb:BatchGetItem".into(),
        ..get("UsersTable", "admin")
    };
    assert!(allowed_by(&authorizer, &whole_user).is_none());
    let account = Request {
        attributes: Some(ACCOUNT_ATTRIBUTES.iter().map(|a| a.to_string()).collect()),
        select: Some("SPECIFIC_ATTRIBUTES".into()),
        ..whole_user.clone()
    };
    assert!(allowed_by(&authorizer, &account).is_some());
    let mut with_hash = account.clone();
    with_hash
        .attributes
        .as_mut()
        .unwrap()
        .push("password_hash".into());
    assert!(allowed_by(&authorizer, &with_hash).is_none());
    // Its lists of attributes are the code's own.
    let listed = |sid: &str| -> Vec<String> {
        let s = authorizer.iter().find(|s| s.sid == sid).unwrap();
        let (_, _, values) = s
            .conditions
            .iter()
            .find(|(_, key, _)| key == "dynamodb:Attributes")
            .unwrap();
        values.clone()
    };
    assert_eq!(listed("UsersAccountRead"), ACCOUNT_ATTRIBUTES);
    assert_eq!(listed("TokenStateRead"), TOKEN_STATE_ATTRIBUTES);
    let whole_family = Request {
        action: "dynamodb:BatchGetItem".into(),
        ..get("TokensTable", "RF#x")
    };
    assert!(allowed_by(&authorizer, &whole_family).is_none());
    let family_state = Request {
        attributes: Some(
            TOKEN_STATE_ATTRIBUTES
                .iter()
                .map(|a| a.to_string())
                .collect(),
        ),
        select: Some("SPECIFIC_ATTRIBUTES".into()),
        ..whole_family.clone()
    };
    assert!(allowed_by(&authorizer, &family_state).is_some());
    // Nor the private key ring.
    let ring = Request {
        action: "secretsmanager:GetSecretValue".into(),
        ..get("SigningKeySecret", "x")
    };
    assert!(allowed_by(&authorizer, &ring).is_none());
    assert!(allowed_by(&issuer, &ring).is_some());
    assert!(like("RF#*", "RF#abc") && !like("RF#*", "CL#abc") && like("a?c", "abc"));
}

#[test]
fn calls_are_modelled_as_iam_sees_them() {
    let batch = serde_json::json!({"RequestItems": {
        "users-1": {"Keys": [{"username": {"S": "admin"}}], "ProjectionExpression": "#u, enabled", "ExpressionAttributeNames": {"#u": "username"}},
        "tokens-1": {"Keys": [{"pk": {"S": "RF#a"}}, {"pk": {"S": "CL#b"}}]}
    }});
    let rs = requests("DynamoDB_20120810.BatchGetItem", &batch).unwrap();
    assert_eq!(rs.len(), 2);
    let users = rs.iter().find(|r| r.resource == "UsersTable").unwrap();
    assert_eq!(
        users.attributes,
        Some(vec!["username".into(), "enabled".into()])
    );
    assert_eq!(users.select.as_deref(), Some("SPECIFIC_ATTRIBUTES"));
    let tokens = rs.iter().find(|r| r.resource == "TokensTable").unwrap();
    assert_eq!(tokens.leading_keys, ["RF#a", "CL#b"]);
    assert_eq!(tokens.attributes, None);
    let update = serde_json::json!({"TableName": "tokens-1", "Key": {"pk": {"S": "OS#x"}},
        "UpdateExpression": "SET expires_at = :e, #t = :t ADD token_version :one",
        "ExpressionAttributeNames": {"#t": "ttl"}});
    let rs = requests("DynamoDB_20120810.UpdateItem", &update).unwrap();
    assert_eq!(
        rs[0].attributes,
        Some(vec![
            "expires_at".into(),
            "token_version".into(),
            "ttl".into()
        ])
    );
    assert!(requests("DynamoDB_20120810.Frobnicate", &update).is_err());
    assert!(requests(
        "DynamoDB_20120810.GetItem",
        &serde_json::json!({"TableName": "other"})
    )
    .is_err());
}
