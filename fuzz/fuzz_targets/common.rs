//! Builds a request from fuzzer input the way API Gateway would hand it over.
#![allow(dead_code)]

use arbitrary::Arbitrary;
use lambda_http::{Body, Request};

#[derive(Arbitrary, Debug)]
pub struct Input {
    pub method: u8,
    pub path: String,
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
    /// Sometimes a JSON-ish body, so the fuzzer reaches the field checks sooner.
    pub fields: Option<Vec<(String, Field)>>,
}

#[derive(Arbitrary, Debug)]
pub enum Field {
    Str(String),
    Num(i64),
    Bool(bool),
    Null,
    Arr(Vec<String>),
}

impl Input {
    pub fn body_bytes(&self) -> Vec<u8> {
        match &self.fields {
            None => self.body.clone(),
            Some(fields) => {
                let mut map = serde_json_map();
                for (k, v) in fields {
                    let v = match v {
                        Field::Str(s) => format!("{s:?}"),
                        Field::Num(n) => n.to_string(),
                        Field::Bool(b) => b.to_string(),
                        Field::Null => "null".into(),
                        Field::Arr(a) => format!("{a:?}"),
                    };
                    map.push(format!("{k:?}:{v}"));
                }
                format!("{{{}}}", map.join(",")).into_bytes()
            }
        }
    }

    pub fn request(&self, default_path: &str) -> Option<Request> {
        let method = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]
            [usize::from(self.method) % 7];
        let path = if self.path.starts_with('/') { self.path.as_str() } else { default_path };
        let mut b = lambda_http::http::Request::builder().method(method).uri(path);
        if let Some(ct) = &self.content_type {
            b = b.header("content-type", ct.as_str());
        }
        if let Some(auth) = &self.authorization {
            b = b.header("authorization", auth.as_str());
        }
        // Header values or paths the HTTP types refuse never reach the function.
        b.body(Body::Binary(self.body_bytes())).ok()
    }
}

fn serde_json_map() -> Vec<String> {
    Vec::new()
}
