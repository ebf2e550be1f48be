//! The goose scenarios. Every request is checked, not just counted: a wrong status, a body
//! that is not what the contract says, an answer key on a member's paper, or a grade that
//! differs from the one computed here from the bank's key is a failure.
//!
//! Each goose user plays members one after another: every iteration takes the next unused
//! member of its range (its own token and its own attempt), so no two requests ever share
//! an attempt and a start is always a member's first.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use goose::goose::{
    GooseMethod, GooseRequest, GooseResponse, GooseUser, TransactionError, TransactionResult,
};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::seed::member_id;

/// What every transaction needs, set once before the attack starts.
pub struct Shared {
    pub round: Uuid,
    pub secret: String,
    /// Members 1..=`entries` hold an entry of the round (leaderboard readers are them).
    pub entries: u64,
    /// The next unused member, and the end of the range this run may start.
    pub next_member: AtomicU64,
    pub last_member: u64,
    pub question_count: usize,
    /// Each question's correct option ids, from the bank (organisers' view).
    pub key: HashMap<Uuid, HashSet<Uuid>>,
    /// Share of questions a taker answers right.
    pub skill: f64,
    /// Attempts started and answered, not yet submitted (kept by the burst, used by the
    /// closing rush).
    pub pending: Option<Mutex<VecDeque<Pending>>>,
}

pub static SHARED: OnceLock<Shared> = OnceLock::new();

fn shared() -> &'static Shared {
    // `main` sets it before any attack is built; a transaction cannot run without it.
    SHARED
        .get()
        .expect("SHARED is set before the attack starts")
}

/// A member's access token, signed as the server signs them.
pub fn token(secret: &str, sub: Uuid, role: &str) -> anyhow::Result<String> {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "sub": sub, "role": role, "sid": Uuid::now_v7(),
        "iss": "hoithi", "aud": "hoithi-api", "iat": now, "exp": now + 3 * 3600,
    });
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

/// Each question's correct option ids, read page by page from the contest's bank with an
/// admin's token (the organisers' view; members never see it).
pub async fn answer_key(
    client: &reqwest::Client,
    base: &str,
    admin_token: &str,
    contest: &str,
) -> anyhow::Result<HashMap<Uuid, HashSet<Uuid>>> {
    let mut key = HashMap::new();
    let mut offset = 0;
    loop {
        let path = format!("/api/v1/contests/{contest}/questions?limit=500&offset={offset}");
        let response = client
            .get(format!("{base}{path}"))
            .bearer_auth(admin_token)
            .send()
            .await?;
        let status = response.status();
        let page: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "GET {path}: {status} {page}");
        let items = page["items"]
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("GET {path}: no items"))?;
        for q in items {
            let id: Uuid = serde_json::from_value(q["id"].clone())?;
            let correct: HashSet<Uuid> = q["options"]
                .as_array()
                .ok_or_else(|| anyhow::anyhow!("question {id} has no options"))?
                .iter()
                .filter(|o| o["correct"] == true)
                .filter_map(|o| serde_json::from_value(o["id"].clone()).ok())
                .collect();
            key.insert(id, correct);
        }
        offset += items.len();
        if items.is_empty() || offset as u64 >= page["total"].as_u64().unwrap_or(0) {
            return Ok(key);
        }
    }
}

fn member_token(number: u64) -> Result<String, Box<TransactionError>> {
    token(&shared().secret, member_id(number), "member")
        .map_err(|e| Box::new(TransactionError::Custom(format!("signing a token: {e}"))))
}

/// A request to make: its name in the figures, method, path, JSON body and expected status.
struct Req<'a> {
    name: &'a str,
    method: GooseMethod,
    path: &'a str,
    body: Option<&'a Value>,
    expect: u16,
}

/// One checked request with the member's `token`: its status must be `expect`, and
/// `check` must accept its JSON body (204 has none). `None` when it failed (already
/// counted as a failure).
async fn call(
    user: &mut GooseUser,
    token: &str,
    req: Req<'_>,
    check: impl FnOnce(&Value) -> Result<(), String>,
) -> Result<Option<Value>, Box<TransactionError>> {
    call_as(user, token, req, check).await
}

/// [`call`] with a typed check, for bodies read only in part.
async fn call_typed<T: serde::de::DeserializeOwned>(
    user: &mut GooseUser,
    token: &str,
    req: Req<'_>,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> TransactionResult {
    call_as(user, token, req, check).await.map(|_| ())
}

async fn call_as<T: serde::de::DeserializeOwned>(
    user: &mut GooseUser,
    token: &str,
    req: Req<'_>,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<Option<T>, Box<TransactionError>> {
    let Req {
        name,
        method,
        path,
        body,
        expect,
    } = req;
    let mut builder = user.get_request_builder(&method, path)?.bearer_auth(token);
    if let Some(body) = body {
        builder = builder.json(body);
    }
    let request = GooseRequest::builder()
        .name(name)
        .method(method)
        .path(path)
        .expect_status_code(expect)
        .set_request_builder(builder)
        .build();
    let GooseResponse {
        mut request,
        response,
    } = user.request(request).await?;
    let Ok(response) = response else {
        return Ok(None);
    };
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    if status != expect {
        // goose counted the wrong status already; keep the body for the error log.
        user.set_failure(
            &format!("{name}: {status}"),
            &mut request,
            None,
            Some(&text),
        )?;
        return Ok(None);
    }
    // 204 has no body: read it as JSON `null`.
    let json = if text.is_empty() {
        "null"
    } else {
        text.as_str()
    };
    let value = match serde_json::from_str::<T>(json) {
        Ok(v) => v,
        Err(e) => {
            let why = format!("{name}: not the expected JSON: {e}");
            user.set_failure(&why, &mut request, None, Some(&text))?;
            return Ok(None);
        }
    };
    if let Err(why) = check(&value) {
        user.set_failure(&format!("{name}: {why}"), &mut request, None, Some(&text))?;
        return Ok(None);
    }
    Ok(Some(value))
}

/// The next member this run may start, `None` once the range is used up.
fn next_member() -> Option<u64> {
    let s = shared();
    let n = s.next_member.fetch_add(1, Ordering::Relaxed);
    (n <= s.last_member).then_some(n)
}

/// A member's paper: in progress, the round's number of questions, and no answer key.
fn check_paper(v: &Value) -> Result<(), String> {
    if v["state"] != "in_progress" {
        return Err(format!("state {}", v["state"]));
    }
    let questions = v["questions"].as_array().ok_or("no questions")?;
    if questions.len() != shared().question_count {
        return Err(format!(
            "{} questions, the round draws {}",
            questions.len(),
            shared().question_count
        ));
    }
    for q in questions {
        let options = q["options"]
            .as_array()
            .ok_or("a question without options")?;
        for o in options {
            let fields = o.as_object().ok_or("an option that is not an object")?;
            if fields.keys().any(|k| k != "id" && k != "text") {
                return Err(format!("an option shows more than id and text: {o}"));
            }
        }
    }
    Ok(())
}

/// Starts an attempt for a fresh member: 201 with a clean paper.
async fn start(
    user: &mut GooseUser,
    number: u64,
) -> Result<Option<(String, Value)>, Box<TransactionError>> {
    let token = member_token(number)?;
    let path = format!("/api/v1/rounds/{}/attempts", shared().round);
    let paper = call(
        user,
        &token,
        Req {
            name: "start",
            method: GooseMethod::Post,
            path: &path,
            body: None,
            expect: 201,
        },
        check_paper,
    )
    .await?;
    Ok(paper.map(|p| (token, p)))
}

/// A started attempt, answered and waiting to be submitted: what the opening burst leaves
/// for the closing rush (one JSON line each).
#[derive(Debug, Serialize, Deserialize)]
pub struct Pending {
    pub member: u64,
    pub attempt: Uuid,
    pub answers: Vec<Value>,
    /// Right answers among them, by the bank's key.
    pub right: usize,
}

fn failed(member: u64, why: &str) -> Box<TransactionError> {
    Box::new(TransactionError::Custom(format!("member {member}: {why}")))
}

/// Answers the paper and keeps it for a later submit phase, when this run keeps them.
fn keep(number: u64, paper: &Value) -> TransactionResult {
    let Some(pending) = &shared().pending else {
        return Ok(());
    };
    let attempt =
        serde_json::from_value(paper["id"].clone()).map_err(|e| failed(number, &e.to_string()))?;
    let (answers, right) = answer(paper).map_err(|e| failed(number, &e))?;
    let mut pending = pending.lock().unwrap_or_else(|p| p.into_inner());
    pending.push_back(Pending {
        member: number,
        attempt,
        answers,
        right,
    });
    Ok(())
}

/// The opening burst: each iteration, a new member starts.
pub async fn burst(user: &mut GooseUser) -> TransactionResult {
    if let Some(number) = next_member()
        && let Some((_, paper)) = start(user, number).await?
    {
        keep(number, &paper)?;
    }
    Ok(())
}

/// The closing rush: each iteration, a member started in the burst submits.
pub async fn submit_rush(user: &mut GooseUser) -> TransactionResult {
    let next = shared()
        .pending
        .as_ref()
        .and_then(|p| p.lock().unwrap_or_else(|p| p.into_inner()).pop_front());
    if let Some(p) = next {
        let token = member_token(p.member)?;
        submit(user, &token, p.attempt, &p.answers, p.right).await?;
    }
    Ok(())
}

/// Submits with a prediction; the grade must be the one the bank's key gives.
async fn submit(
    user: &mut GooseUser,
    token: &str,
    attempt: Uuid,
    answers: &[Value],
    right: usize,
) -> TransactionResult {
    let path = format!("/api/v1/attempts/{attempt}/submit");
    let prediction = rand::rng().random_range(1_000..2_000_000);
    let body = json!({ "answers": answers, "prediction": prediction });
    let total = answers.len();
    call(
        user,
        token,
        Req {
            name: "submit",
            method: GooseMethod::Post,
            path: &path,
            body: Some(&body),
            expect: 200,
        },
        |v| {
            if v["state"] != "submitted" {
                return Err(format!("state {}", v["state"]));
            }
            if v["total"].as_u64() != Some(total as u64) {
                return Err(format!("total {} for {total} questions", v["total"]));
            }
            if v["correct"].as_u64() != Some(right as u64) {
                return Err(format!(
                    "graded {} right, the key says {right}",
                    v["correct"]
                ));
            }
            Ok(())
        },
    )
    .await?;
    Ok(())
}

/// Answers a paper: each question right with probability `skill`, else one wrong option.
/// Returns the answers and how many are right by the bank's key.
fn answer(paper: &Value) -> Result<(Vec<Value>, usize), String> {
    let s = shared();
    answer_by(&s.key, s.skill, paper)
}

/// `answer` with the key and skill given.
pub fn answer_by(
    key: &HashMap<Uuid, HashSet<Uuid>>,
    skill: f64,
    paper: &Value,
) -> Result<(Vec<Value>, usize), String> {
    let bank = key;
    let mut rng = rand::rng();
    let mut answers = Vec::new();
    let mut right = 0;
    for q in paper["questions"].as_array().ok_or("no questions")? {
        let id: Uuid = serde_json::from_value(q["id"].clone()).map_err(|e| e.to_string())?;
        let key = bank
            .get(&id)
            .ok_or_else(|| format!("question {id} is not in the bank"))?;
        let options: Vec<Uuid> = q["options"]
            .as_array()
            .ok_or("no options")?
            .iter()
            .filter_map(|o| serde_json::from_value(o["id"].clone()).ok())
            .collect();
        let wrong: Vec<Uuid> = options
            .iter()
            .filter(|o| !key.contains(o))
            .copied()
            .collect();
        let chosen: Vec<Uuid> = if rng.random_bool(skill) || wrong.is_empty() {
            right += 1;
            options
                .iter()
                .filter(|o| key.contains(o))
                .copied()
                .collect()
        } else {
            wrong.choose(&mut rng).into_iter().copied().collect()
        };
        answers.push(json!({"question_id": id, "option_ids": chosen}));
    }
    Ok((answers, right))
}

/// The steady take: a new member starts, autosaves half the answers, then submits them all
/// with a prediction; the grade must be the one the bank's key gives.
pub async fn take(user: &mut GooseUser) -> TransactionResult {
    let Some(number) = next_member() else {
        return Ok(());
    };
    let Some((token, paper)) = start(user, number).await? else {
        return Ok(());
    };
    let attempt: Uuid =
        serde_json::from_value(paper["id"].clone()).map_err(|e| failed(number, &e.to_string()))?;
    let (answers, right) = answer(&paper).map_err(|e| failed(number, &e))?;
    let half = &answers[..answers.len() / 2];
    let path = format!("/api/v1/attempts/{attempt}/answers");
    let body = json!({ "answers": half });
    if call(
        user,
        &token,
        Req {
            name: "autosave",
            method: GooseMethod::Put,
            path: &path,
            body: Some(&body),
            expect: 204,
        },
        |_| Ok(()),
    )
    .await?
    .is_none()
    {
        return Ok(());
    }
    submit(user, &token, attempt, &answers, right).await
}

/// A reader who holds an entry, for `me` (and a token for `echo`).
fn reader() -> Result<String, Box<TransactionError>> {
    let number = rand::rng().random_range(1..=shared().entries.max(1));
    member_token(number)
}

/// What a top-50 check reads of a page (parsed into types, not a `Value`: the check must
/// not cost the generator more than the server spends answering).
#[derive(Deserialize)]
struct TopPage {
    items: Vec<TopItem>,
    total: u64,
}

#[derive(Deserialize)]
struct TopItem {
    rank: u64,
}

/// The top 50 of the round's board: ranks 1, 2, … and as many items as the board holds.
pub async fn top50(user: &mut GooseUser) -> TransactionResult {
    let token = reader()?;
    let path = format!("/api/v1/rounds/{}/leaderboard?limit=50", shared().round);
    call_typed(
        user,
        &token,
        Req {
            name: "top50",
            method: GooseMethod::Get,
            path: &path,
            body: None,
            expect: 200,
        },
        |page: &TopPage| {
            if page.items.len() as u64 != page.total.min(50) {
                return Err(format!("{} items of {}", page.items.len(), page.total));
            }
            for (n, item) in page.items.iter().enumerate() {
                if item.rank != n as u64 + 1 {
                    return Err(format!("item {n} has rank {}", item.rank));
                }
            }
            Ok(())
        },
    )
    .await
}

/// A member's own rank: between 1 and the board's size.
pub async fn me(user: &mut GooseUser) -> TransactionResult {
    let token = reader()?;
    let path = format!("/api/v1/rounds/{}/leaderboard/me", shared().round);
    call(
        user,
        &token,
        Req {
            name: "me",
            method: GooseMethod::Get,
            path: &path,
            body: None,
            expect: 200,
        },
        |v| {
            let rank = v["rank"].as_u64().ok_or_else(|| format!("no rank: {v}"))?;
            let total = v["total"].as_u64().ok_or("no total")?;
            if rank == 0 || rank > total {
                return Err(format!("rank {rank} of {total}"));
            }
            Ok(())
        },
    )
    .await?;
    Ok(())
}

/// The HTTP stack alone: an authenticated echo of a small document.
pub async fn echo(user: &mut GooseUser) -> TransactionResult {
    let token = reader()?;
    let n: u32 = rand::rng().random();
    let body = json!({ "n": n });
    call(
        user,
        &token,
        Req {
            name: "echo",
            method: GooseMethod::Post,
            path: "/api/v1/echo",
            body: Some(&body),
            expect: 200,
        },
        |v| {
            if v["echo"]["n"].as_u64() != Some(u64::from(n)) {
                return Err(format!("echoed {}", v["echo"]));
            }
            Ok(())
        },
    )
    .await?;
    Ok(())
}
