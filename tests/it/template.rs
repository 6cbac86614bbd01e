//! `template.yaml` against the code: API Gateway sends everything to the
//! function, which routes from its one table; nothing in the template shadows
//! a route; the tables match what the adapter provisions; the abuse limits
//! are there.

use serde_norway::Value;
use token_issuer::http::routes::ROUTES;
use token_issuer::store::dynamo::{
    FUNCTION_WRITES, SESSIONS_BY_USER_INDEX, SESSION_USER, TOKENS_KEY, TTL_ATTRIBUTE, USERS_KEY,
};

fn template() -> Value {
    let path = format!("{}/template.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("template.yaml");
    serde_norway::from_str(&text).expect("template.yaml is YAML")
}

fn resources(t: &Value) -> Vec<(String, Value)> {
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[test]
fn api_gateway_sends_every_request_to_the_function_and_nothing_shadows_a_route() {
    let t = template();
    let mut api_events = Vec::new();
    for (name, r) in resources(&t) {
        let Some(events) = r["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (event, e) in events {
            if text(&e["Type"]) == "HttpApi" {
                let p = &e["Properties"];
                api_events.push((
                    name.clone(),
                    event.as_str().unwrap().to_string(),
                    text(&p["Method"]).to_string(),
                    text(&p["Path"]).to_string(),
                ));
            }
        }
    }
    let issuer: Vec<_> = api_events
        .iter()
        .filter(|(r, ..)| r == "TokenIssuerFunction")
        .collect();
    assert_eq!(
        issuer.len(),
        1,
        "the issuer needs one catch-all: {issuer:?}"
    );
    assert_eq!(
        (issuer[0].2.as_str(), issuer[0].3.as_str()),
        ("ANY", "$default")
    );
    // Any other function's route must not take a path the issuer serves.
    for (resource, event, _, path) in &api_events {
        if resource != "TokenIssuerFunction" {
            assert!(
                !ROUTES.iter().any(|r| r.path == path),
                "{resource}.{event} shadows the issuer's {path}"
            );
        }
    }
}

#[test]
fn the_tables_are_what_the_adapter_provisions_and_are_protected() {
    let t = template();
    for (table, key) in [("UsersTable", USERS_KEY), ("TokensTable", TOKENS_KEY)] {
        let p = &t["Resources"][table]["Properties"];
        assert_eq!(text(&p["KeySchema"][0]["AttributeName"]), key, "{table}");
        assert_eq!(text(&p["KeySchema"][0]["KeyType"]), "HASH", "{table}");
        assert_eq!(
            text(&p["TimeToLiveSpecification"]["AttributeName"]),
            TTL_ATTRIBUTE,
            "{table}"
        );
        assert_eq!(p["DeletionProtectionEnabled"], Value::Bool(true), "{table}");
        assert_eq!(text(&t["Resources"][table]["DeletionPolicy"]), "Retain");
    }
    // The index of browser sessions by user, as the adapter makes and reads it.
    let p = &t["Resources"]["TokensTable"]["Properties"];
    let index = &p["GlobalSecondaryIndexes"][0];
    assert_eq!(text(&index["IndexName"]), SESSIONS_BY_USER_INDEX);
    assert_eq!(text(&index["KeySchema"][0]["AttributeName"]), SESSION_USER);
    assert_eq!(text(&index["Projection"]["ProjectionType"]), "KEYS_ONLY");
    assert!(p["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|d| text(&d["AttributeName"]) == SESSION_USER && text(&d["AttributeType"]) == "S"));
}

#[test]
fn abuse_limits_and_log_retention_are_parameters() {
    let t = template();
    let params = &t["Parameters"];
    for name in [
        "ReservedConcurrency",
        "ThrottlingBurstLimit",
        "ThrottlingRateLimit",
        "LogRetentionDays",
        "LockoutThreshold",
        "LockoutUserThreshold",
        "LockoutAddressThreshold",
    ] {
        assert!(params[name]["Default"].is_number(), "{name}");
    }
    assert_eq!(params["LogRetentionDays"]["Default"], Value::from(30));
    assert_eq!(params["LockoutUserThreshold"]["MaxValue"], Value::from(100));
    let levels: Vec<&str> = params["LogLevel"]["AllowedValues"]
        .as_sequence()
        .expect("LogLevel is restricted")
        .iter()
        .map(text)
        .collect();
    assert_eq!(levels, ["error", "warn", "info", "debug", "trace"]);
    let api = &t["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"];
    assert!(!api["ThrottlingBurstLimit"].is_null());
    assert!(!api["ThrottlingRateLimit"].is_null());
    let f = &t["Resources"]["TokenIssuerFunction"]["Properties"];
    assert!(!f["ReservedConcurrentExecutions"].is_null());
    assert!(!f["LoggingConfig"]["LogGroup"].is_null());
    assert_eq!(
        text(&t["Resources"]["FunctionLogGroup"]["Type"]),
        "AWS::Logs::LogGroup"
    );
}

#[test]
fn the_function_may_write_only_the_items_it_writes_and_never_an_operators_client() {
    let t = template();
    let statements = t["Resources"]["TokenIssuerFunction"]["Properties"]["Policies"][0]
        ["Statement"]
        .as_sequence()
        .expect("the function's policy statements")
        .clone();
    let on_tokens: Vec<&Value> = statements
        .iter()
        // `!GetAtt TokensTable.Arn`, a tagged value.
        .filter(|s| format!("{:?}", s["Resource"]).contains("\"TokensTable.Arn\""))
        .collect();
    assert!(!on_tokens.is_empty(), "statements on the tokens table");
    for s in on_tokens {
        let actions: Vec<&str> = s["Action"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        let writes = actions
            .iter()
            .any(|a| !matches!(*a, "dynamodb:GetItem" | "dynamodb:BatchGetItem"));
        if writes {
            let keys: Vec<&str> = s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                .as_sequence()
                .expect("writes are limited by key prefix")
                .iter()
                .map(text)
                .collect();
            let expected: Vec<String> = FUNCTION_WRITES.iter().map(|p| format!("{p}*")).collect();
            assert_eq!(keys, expected);
            // Of the clients, only those that registered themselves or
            // that a metadata document describes (ids `client create`
            // refuses).
            let clients: Vec<&&str> = keys.iter().filter(|k| k.starts_with("CL#")).collect();
            assert_eq!(clients, [&"CL#dyn-*", &"CL#https://*"]);
        }
    }
}

#[test]
fn the_authorizer_is_wired_with_a_short_revocation_bound_and_exported() {
    let t = template();
    let r = &t["Resources"];
    let auth = &r["HttpApi"]["Properties"]["Auth"]["Authorizers"]["TokenAuthorizer"];
    assert_eq!(text(&auth["AuthorizerPayloadFormatVersion"]), "2.0");
    assert_eq!(auth["EnableSimpleResponses"].as_bool(), Some(true));
    assert!(format!("{:?}", auth["FunctionArn"]).contains("TokenAuthorizerFunction.Arn"));
    assert!(
        r["HttpApi"]["Properties"]["Auth"]
            .get("DefaultAuthorizer")
            .is_none(),
        "the issuer's own routes stay open"
    );
    let f = &r["TokenAuthorizerFunction"];
    assert_eq!(
        text(&f["Metadata"]["BuildProperties"]["Binary"]),
        "token-authorizer"
    );
    assert_eq!(text(&f["Properties"]["Runtime"]), "provided.al2023");
    // The revocation bound by default: the in-process cache, API Gateway's off.
    let p = &t["Parameters"];
    let cache = p["RevocationCacheSeconds"]["Default"].as_u64().unwrap();
    let gateway = p["AuthorizerResultTtl"]["Default"].as_u64().unwrap();
    assert!(cache + gateway <= 5, "{cache} + {gateway}");
    // Read-only but for sliding ops sessions and spending DPoP proofs.
    let statements = f["Properties"]["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap();
    let mut written = Vec::new();
    for s in statements {
        let actions: Vec<&str> = s["Action"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        let writes = actions.iter().any(|a| {
            !matches!(
                *a,
                "dynamodb:GetItem" | "dynamodb:BatchGetItem" | "secretsmanager:GetSecretValue"
            )
        });
        if writes {
            let keys = &s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
            let keys = keys.as_sequence().expect("writes bound by their keys");
            written.extend(keys.iter().map(|k| text(k).to_string()));
            if keys.iter().any(|k| text(k) == "DP#*") {
                assert_eq!(actions, ["dynamodb:PutItem"], "proofs are only put");
            }
        }
    }
    written.sort();
    assert_eq!(written, ["DP#*", "OS#*"]);
    // The example route, only where asked for (off by default), is the
    // authorizer function as the integration of two routes: the resource,
    // and its protected resource metadata at the path RFC 9728 §3.1
    // derives from the resource's; API Gateway may invoke it for those two.
    let integration = &r["WhoamiIntegration"]["Properties"];
    assert_eq!(text(&integration["IntegrationType"]), "AWS_PROXY");
    assert_eq!(text(&integration["PayloadFormatVersion"]), "2.0");
    assert!(format!("{:?}", integration["IntegrationUri"]).contains("TokenAuthorizerFunction.Arn"));
    let route_key = |name: &str| text(&r[name]["Properties"]["RouteKey"]).to_string();
    assert_eq!(route_key("WhoamiRoute"), "GET /whoami");
    assert_eq!(
        route_key("WhoamiMetadataRoute"),
        "GET /.well-known/oauth-protected-resource/whoami"
    );
    for (route, permission) in [
        ("WhoamiRoute", "WhoamiPermission"),
        ("WhoamiMetadataRoute", "WhoamiMetadataPermission"),
    ] {
        let p = &r[permission]["Properties"];
        assert!(tagged_text(&r[route]["Properties"]["Target"]).contains("WhoamiIntegration"));
        let path = route_key(route).replacen(" /", "/", 1);
        assert!(
            tagged_text(&p["SourceArn"]).ends_with(&format!("/*/{path}")),
            "{permission} is for {path} alone"
        );
        for name in [route, permission, "WhoamiIntegration"] {
            assert_eq!(text(&r[name]["Condition"]), "HasExampleRoute", "{name}");
        }
    }
    // The example's paths are the ones the authorizer serves as a route.
    assert!(token_issuer::authorizer::EXAMPLE_PATHS.iter().all(|p| [
        route_key("WhoamiRoute"),
        route_key("WhoamiMetadataRoute")
    ]
    .contains(&format!("GET {p}"))));
    assert_eq!(text(&t["Parameters"]["ExampleRoute"]["Default"]), "false");
    assert_eq!(
        text(&t["Outputs"]["WhoamiUrl"]["Condition"]),
        "HasExampleRoute"
    );
    assert_eq!(
        format!("{:?}", t["Conditions"]["HasExampleRoute"]),
        format!(
            "{:?}",
            serde_norway::from_str::<Value>("!Equals [!Ref ExampleRoute, \"true\"]").unwrap()
        )
    );
    for output in [
        "AuthorizerFunctionArn",
        "AuthorizerFunctionName",
        "WhoamiUrl",
    ] {
        assert!(
            !t["Outputs"][output]["Export"]["Name"].is_null(),
            "{output} is exported"
        );
    }
}

/// The string inside a `!Sub` (or any tagged scalar); of `!Sub [text,
/// variables]`, the text.
fn tagged_text(v: &Value) -> &str {
    match v {
        Value::Tagged(t) => match &t.value {
            Value::Sequence(s) => s.first().and_then(Value::as_str).unwrap_or_default(),
            other => other.as_str().unwrap_or_default(),
        },
        other => other.as_str().unwrap_or_default(),
    }
}

fn emitted(name: &str) -> bool {
    token_issuer::metrics::METRICS
        .iter()
        .any(|(n, _)| *n == name)
}

#[test]
fn every_alarm_watches_a_metric_that_is_emitted_and_can_notify() {
    let t = template();
    let params = t["Parameters"].as_mapping().unwrap();
    let mut alarms = Vec::new();
    for (name, r) in resources(&t) {
        if text(&r["Type"]) != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let p = &r["Properties"];
        // Its threshold is a parameter, and it notifies the topic when one is given.
        let threshold = tagged_text(&p["Threshold"]);
        assert!(
            params.contains_key(Value::String(threshold.into())),
            "{name}: threshold {threshold:?} is a parameter"
        );
        for actions in ["AlarmActions", "OKActions"] {
            assert!(
                format!("{:?}", p[actions]).contains("HasAlarmTopic"),
                "{name}: {actions}"
            );
        }
        // Every metric it reads.
        let mut watched: Vec<(String, String, String)> = Vec::new();
        let dims = |d: &Value| format!("{d:?}");
        if let Some(metric) = p["MetricName"].as_str() {
            watched.push((
                text(&p["Namespace"]).into(),
                metric.into(),
                dims(&p["Dimensions"]),
            ));
        }
        for m in p["Metrics"].as_sequence().into_iter().flatten() {
            let stat = &m["MetricStat"]["Metric"];
            if let Some(metric) = stat["MetricName"].as_str() {
                watched.push((
                    text(&stat["Namespace"]).into(),
                    metric.into(),
                    dims(&stat["Dimensions"]),
                ));
            }
        }
        assert!(!watched.is_empty(), "{name} watches something");
        for (ns, metric, dims) in &watched {
            match ns.as_str() {
                "TokenIssuer" => {
                    assert!(emitted(metric), "{name}: {metric} is emitted");
                    assert!(
                        dims.contains("token-issuer") || dims.contains("token-authorizer"),
                        "{name}: a Service dimension the code writes: {dims}"
                    );
                }
                "AWS/Lambda" => assert!(
                    dims.contains("TokenIssuerFunction")
                        || dims.contains("TokenAuthorizerFunction"),
                    "{name}: {dims}"
                ),
                "AWS/DynamoDB" => assert!(
                    dims.contains("UsersTable") || dims.contains("TokensTable"),
                    "{name}: {dims}"
                ),
                other => panic!("{name}: unexpected namespace {other}"),
            }
        }
        alarms.push((name, watched));
    }
    // What an operator needs watched, each at least once.
    let watches = |ns: &str, metric: &str, dim: &str| {
        alarms.iter().any(|(_, w)| {
            w.iter()
                .any(|(n, m, d)| n == ns && m == metric && d.contains(dim))
        })
    };
    for f in ["TokenIssuerFunction", "TokenAuthorizerFunction"] {
        assert!(watches("AWS/Lambda", "Errors", f), "errors of {f}");
        assert!(watches("AWS/Lambda", "Throttles", f), "throttles of {f}");
    }
    for m in [
        "Latency",
        "ServerError",
        "Requests",
        "ReuseDetected",
        "LockStarts",
    ] {
        assert!(watches("TokenIssuer", m, "token-issuer"), "{m}");
    }
    for table in ["UsersTable", "TokensTable"] {
        for m in ["ReadThrottleEvents", "WriteThrottleEvents", "SystemErrors"] {
            assert!(watches("AWS/DynamoDB", m, table), "{m} of {table}");
        }
    }
    let p99 = alarms
        .iter()
        .find(|(n, _)| n == "LatencyP99Alarm")
        .expect("a p99 alarm");
    assert_eq!(p99.1[0].1, "Latency");
    assert_eq!(
        text(&t["Resources"]["LatencyP99Alarm"]["Properties"]["ExtendedStatistic"]),
        "p99"
    );
}

#[test]
fn the_dashboard_shows_only_metrics_that_are_emitted_and_tracing_is_a_parameter() {
    let t = template();
    let body = tagged_text(&t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]);
    let body: serde_json::Value = serde_json::from_str(body).expect("the dashboard body is JSON");
    let mut shown = 0;
    for widget in body["widgets"].as_array().unwrap() {
        let mut namespace = String::new();
        for row in widget["properties"]["metrics"].as_array().unwrap() {
            let row = row.as_array().unwrap();
            if let Some(expr) = row[0]["expression"].as_str() {
                if expr.contains("{TokenIssuer,") {
                    let name = expr
                        .split("MetricName=\"")
                        .nth(1)
                        .and_then(|s| s.split('"').next())
                        .unwrap();
                    assert!(emitted(name), "{name}");
                    shown += 1;
                }
                continue;
            }
            let first = row[0].as_str().unwrap();
            if first == "..." {
                continue;
            }
            if first != "." {
                namespace = first.to_string();
            }
            if namespace == "TokenIssuer" {
                let name = row[1].as_str().unwrap();
                assert!(emitted(name), "{name}");
                shown += 1;
            }
        }
    }
    assert!(shown >= 15, "{shown}");
    let tracing = &t["Parameters"]["XRayTracing"];
    assert_eq!(text(&tracing["Default"]), "PassThrough", "off by default");
    for f in ["TokenIssuerFunction", "TokenAuthorizerFunction"] {
        assert!(
            format!("{:?}", t["Resources"][f]["Properties"]["Tracing"]).contains("XRayTracing"),
            "{f}"
        );
    }
}

/// `!Tag value` as (tag, value), for the multi-region checks.
fn tagged(v: &Value) -> (&str, &Value) {
    match v {
        Value::Tagged(t) => {
            let tag = ["If", "Ref", "Sub", "GetAtt"]
                .into_iter()
                .find(|k| t.tag == *k)
                .unwrap_or_else(|| panic!("a tag this check knows: {v:?}"));
            (tag, &t.value)
        }
        other => panic!("a tagged value, not {other:?}"),
    }
}

/// `!If [condition, then, else]`.
fn branches(v: &Value) -> (&str, &Value, &Value) {
    let (tag, value) = tagged(v);
    assert_eq!(tag, "If", "{v:?}");
    let s = value.as_sequence().expect("!If [c, a, b]");
    (text(&s[0]), &s[1], &s[2])
}

#[test]
fn multi_region_deploys_the_same_tables_strongly_consistent_and_the_same_names_everywhere() {
    let t = template();
    let r = &t["Resources"];
    for (single, global, suffix) in [
        ("UsersTable", "UsersGlobalTable", "users"),
        ("TokensTable", "TokensGlobalTable", "tokens"),
    ] {
        assert_eq!(text(&r[single]["Condition"]), "IsSingleRegion");
        assert_eq!(text(&r[global]["Condition"]), "IsPrimary");
        assert_eq!(text(&r[global]["Type"]), "AWS::DynamoDB::GlobalTable");
        assert_eq!(text(&r[global]["DeletionPolicy"]), "Retain");
        let (s, g) = (&r[single]["Properties"], &r[global]["Properties"]);
        // What the adapter reads and writes is the same in both layouts.
        for same in [
            "KeySchema",
            "AttributeDefinitions",
            "GlobalSecondaryIndexes",
            "BillingMode",
            "SSESpecification",
        ] {
            assert_eq!(s[same], g[same], "{global}.{same}");
        }
        assert_eq!(text(&g["MultiRegionConsistency"]), "STRONG");
        assert_eq!(
            tagged_text(&g["TableName"]),
            format!("${{AWS::StackName}}-{suffix}")
        );
        // No TTL under strong consistency: the sweeper stands in.
        assert!(g.get("TimeToLiveSpecification").is_none(), "{global}");
        let replicas = g["Replicas"].as_sequence().expect("replicas");
        let regions: Vec<&str> = replicas
            .iter()
            .map(|x| tagged(&x["Region"]).1.as_str().unwrap_or_default())
            .collect();
        assert_eq!(regions, ["AWS::Region", "ReplicaRegion"], "{global}");
        for x in replicas {
            assert_eq!(
                x["DeletionProtectionEnabled"],
                Value::Bool(true),
                "{global}"
            );
            assert_eq!(
                x["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
                Value::Bool(true)
            );
        }
        let witness = &g["GlobalTableWitnesses"][0]["Region"];
        assert_eq!(tagged(witness).1.as_str(), Some("WitnessRegion"));
    }
    // Every function finds the tables and secrets by the stack's names in
    // both multi-region roles, and by reference in one Region.
    for function in ["TokenIssuerFunction", "TokenAuthorizerFunction"] {
        let vars = &r[function]["Properties"]["Environment"]["Variables"];
        for (var, resource, suffix) in [
            ("USERS_TABLE", "UsersTable", "-users"),
            ("TOKENS_TABLE", "TokensTable", "-tokens"),
        ] {
            let (cond, multi, single) = branches(&vars[var]);
            assert_eq!(cond, "IsMultiRegion", "{function}.{var}");
            assert_eq!(tagged_text(multi), format!("${{AWS::StackName}}{suffix}"));
            assert_eq!(tagged(single), ("Ref", &Value::String(resource.into())));
        }
    }
    for (function, var, secret, name) in [
        (
            "TokenIssuerFunction",
            "SIGNING_KEY_SECRET_ID",
            "SigningKeySecret",
            "signing-keys",
        ),
        (
            "TokenIssuerFunction",
            "FACTOR_KEY_SECRET_ID",
            "FactorKeySecret",
            "factor-key",
        ),
        (
            "TokenAuthorizerFunction",
            "PUBLIC_KEYS_SECRET_ID",
            "SigningPublicKeysSecret",
            "public-keys",
        ),
    ] {
        let (cond, there, here) =
            branches(&r[function]["Properties"]["Environment"]["Variables"][var]);
        assert_eq!(cond, "IsSecondary", "{var}");
        let stack_name = format!("${{AWS::StackName}}/{name}");
        assert_eq!(tagged_text(there), stack_name);
        assert_eq!(tagged(here), ("Ref", &Value::String(secret.into())));
        // The secret is made (and replicated) where the tables are owned,
        // under that name once multi-region.
        assert_eq!(text(&r[secret]["Condition"]), "OwnsSecrets");
        let p = &r[secret]["Properties"];
        let (cond, named, _) = branches(&p["Name"]);
        assert_eq!(cond, "IsMultiRegion");
        assert_eq!(tagged_text(named), stack_name);
        let (cond, replicas, _) = branches(&p["ReplicaRegions"]);
        assert_eq!(cond, "IsPrimary");
        assert_eq!(
            tagged(&replicas[0]["Region"]).1.as_str(),
            Some("ReplicaRegion")
        );
    }
    assert_eq!(
        t["Conditions"]["OwnsSecrets"],
        serde_norway::from_str::<Value>("!Not [!Equals [!Ref MultiRegion, secondary]]").unwrap()
    );
    // The sweeper: the primary only (its deletes replicate), hourly, the
    // tokens table by the stack's name.
    let s = &r["SweeperFunction"];
    assert_eq!(text(&s["Condition"]), "IsPrimary");
    let p = &s["Properties"];
    assert_eq!(
        tagged_text(&p["Environment"]["Variables"]["TOKENS_TABLE"]),
        "${AWS::StackName}-tokens"
    );
    assert_eq!(text(&p["Events"]["Hourly"]["Type"]), "Schedule");
    assert!(text(&p["InlineCode"]).contains(&format!("\"#t\": \"{TTL_ATTRIBUTE}\"")));
}
