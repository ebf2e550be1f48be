// hoithi — the members' web app and the staff pages. Plain JavaScript, no framework, no
// build step: it talks only to the public API (/api/v1) and renders every name, question
// and option as text (never as HTML). Hash routes (#/…) keep the server to one page.
"use strict";
(() => {
  const API = "/api/v1";
  const $main = document.getElementById("main");
  const $nav = document.getElementById("nav");
  const $net = document.getElementById("net");

  // ---------------------------------------------------------------- DOM, storage, time

  /** An element with attributes, listeners (`onclick`…) and children (text, never HTML). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (key === "class") el.className = value;
      else if (key === "for") el.htmlFor = value;
      else if (value === true) el.setAttribute(key, "");
      else el.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  /** Replaces an element's children, leaving out null, undefined and false. */
  function put(el, ...nodes) {
    el.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  }

  const store = {
    get(key) {
      try { return JSON.parse(localStorage.getItem(key)); } catch { return null; }
    },
    set(key, value) {
      try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* full or off */ }
    },
    del(key) {
      try { localStorage.removeItem(key); } catch { /* off */ }
    },
  };

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // The server's clock, from the Date header of each answer: countdowns never trust the
  // phone's clock. Attempt deadlines use the server's remaining_ms and a monotonic clock.
  let clockOffset = 0;
  const serverNow = () => Date.now() + clockOffset;

  const VN = { timeZone: "Asia/Ho_Chi_Minh" };
  const fmtTime = (iso) => new Date(iso).toLocaleString("vi-VN", {
    ...VN, hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit", year: "numeric",
  });
  const two = (n) => String(n).padStart(2, "0");
  function fmtDuration(ms) {
    const s = Math.round(ms / 1000);
    const m = Math.floor(s / 60);
    return m > 0 ? `${m} phút ${two(s % 60)} giây` : `${s} giây`;
  }
  function fmtCountdown(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(s / 86400);
    const clock = `${two(Math.floor((s % 86400) / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
    return d > 0 ? `${d} ngày ${clock}` : clock;
  }
  const fmtNumber = (n) => Number(n).toLocaleString("vi-VN");

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && problem.detail) || `HTTP ${status}`);
      this.status = status;
      this.code = (problem && problem.code) || "";
      this.fields = (problem && problem.errors) || {};
    }
  }
  class NetworkError extends Error {}

  let session = store.get("hoithi.session");
  function setSession(value) {
    session = value;
    if (value) store.set("hoithi.session", value);
    else store.del("hoithi.session");
  }

  async function rawFetch(method, path, body, headers) {
    const init = { method, headers: { Accept: "application/json", ...headers } };
    if (body !== undefined) {
      if (body instanceof Blob) init.body = body;
      else {
        init.body = JSON.stringify(body);
        init.headers["Content-Type"] = "application/json";
      }
    }
    if (session) init.headers.Authorization = `Bearer ${session.access}`;
    const sent = Date.now();
    let res;
    try {
      res = await fetch(API + path, init);
    } catch {
      throw new NetworkError("network");
    }
    const date = Date.parse(res.headers.get("Date") || "");
    if (!Number.isNaN(date)) clockOffset = date + 500 - (sent + Date.now()) / 2;
    return res;
  }

  /** JSON in and out; problems become ApiError, no connection NetworkError. */
  async function api(method, path, body, { headers = {}, raw = false } = {}) {
    let res = await rawFetch(method, path, body, headers);
    if (res.status === 401 && session && session.refresh && (await refreshSession())) {
      res = await rawFetch(method, path, body, headers);
    }
    if (raw && res.ok) return res;
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch { data = null; }
    if (!res.ok) {
      if (res.status === 401 && !path.startsWith("/auth/")) setSession(null);
      throw new ApiError(res.status, data);
    }
    return data;
  }

  let refreshing = null;
  function refreshSession() {
    refreshing = refreshing || (async () => {
      try {
        const res = await rawFetch("POST", "/auth/refresh", { refresh_token: session.refresh });
        if (!res.ok) { setSession(null); return false; }
        const pair = await res.json();
        setSession({ ...session, access: pair.access_token, refresh: pair.refresh_token });
        return true;
      } catch {
        return false;
      } finally {
        setTimeout(() => { refreshing = null; }, 0);
      }
    })();
    return refreshing;
  }

  const MESSAGES = {
    invalid_credentials: "Số điện thoại (hoặc email) hoặc mật khẩu không đúng.",
    phone_taken: "Số điện thoại này đã được đăng ký. Hãy đăng nhập.",
    id_number_taken: "Số CCCD này đã được đăng ký.",
    round_not_open: "Vòng thi chưa mở hoặc đã đóng.",
    max_attempts_reached: "Bạn đã dùng hết số lần thi của vòng này.",
    attempt_expired: "Đã hết giờ làm bài. Bài được chấm với các câu đã lưu.",
    round_not_closed: "Vòng thi chưa đóng (hoặc chưa hết thời gian gia hạn nộp bài).",
    round_not_finalized: "Vòng thi chưa được tổng kết.",
    rate_limited: "Bạn thao tác quá nhanh. Hãy đợi một lát rồi thử lại.",
    dependency_unavailable: "Hệ thống đang bận. Hãy thử lại sau ít phút.",
    forbidden_role: "Tài khoản của bạn không có quyền làm việc này.",
    not_contest_staff: "Bạn không thuộc Ban tổ chức của cuộc thi này.",
    not_found: "Không tìm thấy.",
    unauthorized: "Hãy đăng nhập.",
  };
  function explain(err) {
    if (err instanceof NetworkError) return "Không có kết nối mạng. Hãy kiểm tra mạng rồi thử lại.";
    if (err instanceof ApiError) return MESSAGES[err.code] || err.message;
    return "Có lỗi xảy ra. Hãy tải lại trang.";
  }

  // ---------------------------------------------------------------- network banner

  function showNet(text) {
    $net.textContent = text || "";
    $net.hidden = !text;
  }
  window.addEventListener("offline", () => showNet("Mất kết nối mạng. Bài làm vẫn được giữ trên máy."));
  window.addEventListener("online", () => showNet(""));

  // ---------------------------------------------------------------- router and views

  let stops = [];
  /** Runs `fn` every `ms` until the view changes. */
  function every(ms, fn) {
    const id = setInterval(fn, ms);
    stops.push(() => clearInterval(id));
  }
  function onLeave(fn) { stops.push(fn); }

  // Each render is a new generation. A view paints through the painter it took when it
  // started, which paints only while that view is still the current one: a slow answer
  // for a page the member already left never covers the page they are on.
  let generation = 0;
  function painter() {
    const mine = generation;
    return (title, ...nodes) => {
      if (mine !== generation) return;
      document.title = `${title} · Hội thi trực tuyến`;
      put($main, h("h1", {}, title), nodes);
      $main.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    };
  }
  const errorBox = (err) => h("p", { class: "error", role: "alert" }, explain(err));
  const isStaff = () => session && ["organizer", "judge", "admin"].includes(session.role);

  function renderNav() {
    const links = [h("a", { href: "#/" }, "Cuộc thi")];
    if (session) {
      if (session.role === "member") links.push(h("a", { href: "#/lich-su" }, "Bài thi của tôi"));
      if (isStaff()) links.push(h("a", { href: "#/quan-ly" }, "Quản lý"));
      links.push(h("a", { href: "#/dang-xuat" }, "Đăng xuất"));
    } else {
      links.push(h("a", { href: "#/dang-nhap" }, "Đăng nhập"), h("a", { href: "#/dang-ky" }, "Đăng ký"));
    }
    put($nav, ...links);
  }

  const ID = "([0-9a-fA-F-]{36})";
  const routes = [
    [/^#?\/?$/, home],
    [/^#\/c\/([a-z0-9-]+)$/, contestPage],
    [/^#\/dang-nhap$/, loginPage],
    [/^#\/dang-ky$/, registerPage],
    [/^#\/dang-xuat$/, logout],
    [new RegExp(`^#/vong/${ID}$`), roundPage],
    [new RegExp(`^#/bai/${ID}$`), takePage],
    [new RegExp(`^#/ket-qua/${ID}$`), resultPage],
    [new RegExp(`^#/bxh/${ID}$`), boardPage],
    [/^#\/lich-su$/, historyPage],
    [/^#\/quan-ly$/, staffHome],
    [/^#\/quan-ly\/c\/([a-z0-9-]+)$/, staffContest],
    [new RegExp(`^#/quan-ly/vong/${ID}$`), staffRound],
  ];

  async function render() {
    generation += 1;
    const page = painter();
    stops.forEach((stop) => stop());
    stops = [];
    renderNav();
    const hash = location.hash || "#/";
    for (const [pattern, view] of routes) {
      const match = hash.match(pattern);
      if (match) {
        try {
          await view(...match.slice(1));
        } catch (err) {
          if (err instanceof ApiError && err.status === 401) return go("#/dang-nhap", true);
          page("Có lỗi", errorBox(err), h("p", {}, h("a", { href: "#/" }, "Về trang chủ")));
        }
        return;
      }
    }
    page("Không tìm thấy trang", h("p", {}, h("a", { href: "#/" }, "Về trang chủ")));
  }
  function go(hash, replace) {
    if (location.hash === hash) render();
    else if (replace) { location.replace(hash); }
    else location.hash = hash;
  }
  function needLogin() {
    if (session) return false;
    store.set("hoithi.next", location.hash);
    go("#/dang-nhap", true);
    return true;
  }

  // ---------------------------------------------------------------- contest and rounds

  const STATE = { scheduled: "Sắp mở", open: "Đang mở", closed: "Đã đóng", finalized: "Đã có kết quả" };
  /** The state now by the server's clock (a round may open or close while on screen). */
  function stateOf(round) {
    if (round.state === "finalized") return "finalized";
    const now = serverNow();
    if (now < Date.parse(round.opens_at)) return "scheduled";
    if (now < Date.parse(round.closes_at)) return "open";
    return "closed";
  }

  async function home() {
    const page = painter();
    const list = await api("GET", "/contests?limit=50");
    const contests = list.items.filter((c) => c.status === "published");
    if (contests.length === 1) return go(`#/c/${contests[0].slug}`, true);
    page("Các cuộc thi",
      contests.length === 0 ? h("p", { class: "muted" }, "Chưa có cuộc thi nào đang diễn ra.") : null,
      contests.map((c) => h("div", { class: "card" },
        h("h2", {}, h("a", { href: `#/c/${c.slug}` }, c.title)),
        h("p", {}, c.description))));
  }

  function roundCard(round) {
    const countdown = h("span", { class: "clock", "aria-live": "off" });
    const badge = h("span", { class: "badge" });
    const action = h("div", { class: "row" });
    const tick = () => {
      const state = stateOf(round);
      badge.textContent = STATE[state];
      badge.className = `badge ${state}`;
      if (state === "scheduled") countdown.textContent = `Mở sau ${fmtCountdown(Date.parse(round.opens_at) - serverNow())}`;
      else if (state === "open") countdown.textContent = `Còn ${fmtCountdown(Date.parse(round.closes_at) - serverNow())}`;
      else countdown.textContent = "";
      const wanted = state;
      if (action.dataset.state !== wanted) {
        action.dataset.state = wanted;
        put(action,
          h("a", { class: "btn", href: `#/vong/${round.id}` }, state === "open" ? "Vào thi" : "Xem vòng thi"),
          h("a", { class: "btn secondary", href: `#/bxh/${round.id}` }, "Bảng xếp hạng"));
      }
    };
    tick();
    every(1000, tick);
    return h("div", { class: "card" },
      h("h2", {}, `Vòng ${round.number}: ${round.title}`),
      h("p", {}, badge, " ", countdown),
      h("p", { class: "muted" }, `Từ ${fmtTime(round.opens_at)} đến ${fmtTime(round.closes_at)}`),
      action);
  }

  async function contestPage(slug) {
    const page = painter();
    const [contest, rounds] = await Promise.all([
      api("GET", `/contests/${slug}`),
      api("GET", `/contests/${slug}/rounds?limit=100`),
    ]);
    store.set("hoithi.contest", slug);
    page(contest.title,
      contest.description ? h("p", {}, contest.description) : null,
      contest.rules ? h("details", { class: "card" }, h("summary", {}, "Thể lệ cuộc thi"), h("div", { class: "rules" }, contest.rules)) : null,
      session ? null : h("div", { class: "row" },
        h("a", { class: "btn", href: "#/dang-ky" }, "Đăng ký dự thi"),
        h("a", { class: "btn secondary", href: "#/dang-nhap" }, "Đăng nhập")),
      h("h2", {}, "Các vòng thi"),
      rounds.items.length ? rounds.items.map(roundCard) : h("p", { class: "muted" }, "Chưa có vòng thi nào."));
  }

  async function roundPage(id) {
    const page = painter();
    const round = await api("GET", `/rounds/${id}`);
    const mine = session && session.role === "member"
      ? (await api("GET", `/me/attempts?round=${id}&limit=20`)).items : [];
    const going = mine.find((a) => a.state === "in_progress");
    const ended = mine.filter((a) => a.state !== "in_progress");
    const message = h("div", { role: "status", "aria-live": "polite" });
    const startButton = h("button", { class: "btn block", type: "button" }, going ? "Làm tiếp bài đang làm" : "Bắt đầu làm bài");
    startButton.addEventListener("click", async () => {
      if (needLogin()) return;
      startButton.disabled = true;
      put(message);
      try {
        const attempt = going || (await api("POST", `/rounds/${id}/attempts`));
        go(`#/bai/${attempt.id}`);
      } catch (err) {
        startButton.disabled = false;
        put(message, errorBox(err));
      }
    });
    const state = stateOf(round);
    page(`Vòng ${round.number}: ${round.title}`,
      h("div", { class: "card" },
        h("p", {}, h("span", { class: `badge ${state}` }, STATE[state])),
        h("p", {}, `${round.question_count} câu hỏi, làm trong ${fmtDuration(round.time_limit_seconds * 1000)}.`),
        h("p", {}, `Mỗi người được thi tối đa ${round.max_attempts} lần; tính lần có kết quả tốt nhất.`),
        h("p", {}, `Từ ${fmtTime(round.opens_at)} đến ${fmtTime(round.closes_at)} (giờ Việt Nam).`),
        round.prizes.length ? h("p", {}, "Giải thưởng: ", round.prizes.map((p) => `${p.count} ${p.name}`).join(", "), ".") : null,
        h("p", { class: "muted" }, "Câu hỏi dự đoán: ", round.prediction.prompt)),
      state === "open" && (!session || session.role === "member") ? [startButton, message] : null,
      ended.length ? [h("h2", {}, "Các lần bạn đã thi"), ended.map(attemptCard)] : null,
      h("div", { class: "row" },
        h("a", { class: "btn secondary", href: `#/bxh/${id}` }, "Bảng xếp hạng"),
        h("a", { class: "btn secondary", href: `#/c/${store.get("hoithi.contest") || ""}` }, "Các vòng thi")));
  }

  function attemptCard(a) {
    const done = a.result;
    return h("div", { class: "card" },
      h("p", {}, h("strong", {}, `Vòng ${a.round_number}: ${a.round_title}`), ` — lần ${a.number}`),
      done
        ? h("p", {}, `Đúng ${done.correct}/${done.total} câu trong ${fmtDuration(done.duration_ms)}`,
          done.prediction !== null ? `, dự đoán ${fmtNumber(done.prediction)}` : "", ".")
        : h("p", {}, "Đang làm, hạn nộp ", fmtTime(a.deadline), "."),
      h("a", { class: "btn secondary", href: a.state === "in_progress" ? `#/bai/${a.id}` : `#/ket-qua/${a.id}` },
        a.state === "in_progress" ? "Làm tiếp" : a.round_finalized ? "Xem kết quả và đáp án" : "Xem kết quả"));
  }

  async function historyPage() {
    const page = painter();
    if (needLogin()) return;
    const list = await api("GET", "/me/attempts?limit=100");
    page("Bài thi của tôi",
      list.items.length ? list.items.map(attemptCard) : h("p", { class: "muted" }, "Bạn chưa thi vòng nào."));
  }

  // ---------------------------------------------------------------- taking a round

  async function takePage(id) {
    const page = painter();
    if (needLogin()) return;
    const key = `hoithi.attempt.${id}`;
    const attempt = await api("GET", `/attempts/${id}`);
    const local = store.get(key) || {};
    if (attempt.state !== "in_progress") {
      store.del(key);
      return go(`#/ket-qua/${id}`, true);
    }
    const questions = attempt.questions;
    const total = questions.length;
    // What the server saved, then what this phone chose since (the newer intent).
    const answers = new Map(attempt.answers.map((a) => [a.question_id, a.option_ids]));
    for (const [q, opts] of Object.entries(local.answers || {})) answers.set(q, opts);
    let prediction = local.prediction ?? "";
    let index = Math.min(local.index || 0, total);
    const deadline = performance.now() + attempt.remaining_ms;
    let ended = false;

    const persist = () => store.set(key, {
      answers: Object.fromEntries(answers), prediction, index, submitting: local.submitting || null,
    });
    const answerList = () => [...answers].map(([question_id, option_ids]) => ({ question_id, option_ids }));
    const answeredCount = () => [...answers.values()].filter((o) => o.length > 0).length;

    // -- autosave: every choice is kept on the phone at once and sent to the server; while
    // the network is down it is retried, and sent again as soon as the phone is online.
    const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
    let dirty = false;
    let saving = false;
    let retry = null;
    let backoff = 1000;
    async function flush() {
      if (!dirty || saving || ended) return;
      saving = true;
      dirty = false;
      clearTimeout(retry);
      try {
        await api("PUT", `/attempts/${id}/answers`, { answers: answerList() });
        backoff = 1000;
        if (!dirty) status.textContent = `Đã lưu ${answeredCount()}/${total} câu trả lời.`;
      } catch (err) {
        dirty = true;
        if (err instanceof ApiError && err.status === 409) return finish();
        status.textContent = "Chưa gửi được câu trả lời lên máy chủ. Câu trả lời vẫn được giữ trên máy và sẽ tự gửi lại.";
        retry = setTimeout(flush, backoff);
        backoff = Math.min(backoff * 2, 15000);
      } finally {
        saving = false;
      }
      if (dirty && backoff === 1000) flush();
    }
    const onOnline = () => { backoff = 1000; flush(); };
    window.addEventListener("online", onOnline);
    onLeave(() => { window.removeEventListener("online", onOnline); clearTimeout(retry); });
    function choose(questionId, optionIds) {
      answers.set(questionId, optionIds);
      persist();
      dirty = true;
      flush();
    }

    // -- submission: one at a time, the same request retried until the server answers.
    let submitting = false;
    async function submit() {
      if (submitting || ended) return;
      submitting = true;
      clearTimeout(retry);
      const body = local.submitting || {
        answers: answerList(),
        prediction: prediction === "" ? null : Number(prediction),
      };
      local.submitting = body;
      persist();
      view();
      let wait = 1000;
      for (;;) {
        try {
          await api("POST", `/attempts/${id}/submit`, body);
          return finish();
        } catch (err) {
          if (err instanceof ApiError && err.status === 409) return finish();
          if (err instanceof ApiError && err.status < 500 && err.status !== 429) {
            local.submitting = null;
            submitting = false;
            persist();
            view(explain(err));
            return;
          }
          status.textContent = "Chưa nộp được vì mạng yếu. Đang thử lại, xin đừng tắt trang…";
          await sleep(wait);
          wait = Math.min(wait * 2, 15000);
        }
      }
    }
    function finish() {
      if (ended) return;
      ended = true;
      store.del(key);
      go(`#/ket-qua/${id}`, true);
    }

    // -- the screen
    const clock = h("span", { class: "clock", role: "timer", "aria-label": "Thời gian còn lại" });
    const tick = () => {
      const left = deadline - performance.now();
      clock.textContent = fmtCountdown(left).replace(/^00:/, "");
      clock.classList.toggle("low", left < 60000);
      if (left <= 0 && !submitting && !ended) submit();
    };
    every(500, tick);

    const confirmBox = h("dialog", { "aria-labelledby": "confirm-title" });
    function askSubmit() {
      const unanswered = total - answeredCount();
      put(confirmBox,
        h("h2", { id: "confirm-title" }, "Nộp bài?"),
        h("p", {}, `Bạn đã trả lời ${answeredCount()}/${total} câu.`),
        unanswered ? h("p", { class: "error" }, `Còn ${unanswered} câu chưa trả lời.`) : null,
        prediction === "" ? h("p", { class: "error" }, "Bạn chưa trả lời câu dự đoán.") : null,
        h("p", {}, "Sau khi nộp, bạn không sửa được bài nữa."),
        h("div", { class: "row" },
          h("button", { class: "btn", type: "button", onclick: () => { confirmBox.close(); submit(); } }, "Nộp bài"),
          h("button", { class: "btn secondary", type: "button", onclick: () => confirmBox.close() }, "Làm tiếp")));
      confirmBox.showModal();
    }

    const progress = h("progress", { max: total, "aria-label": `Số câu đã trả lời trên ${total} câu` });
    function view(error) {
      progress.value = answeredCount();
      const at = (i) => { index = i; persist(); view(); };
      const grid = h("div", { class: "grid" }, questions.map((q, i) => h("button", {
        type: "button",
        class: `btn secondary${(answers.get(q.id) || []).length ? " answered" : ""}${i === index ? " current" : ""}`,
        "aria-label": `Câu ${i + 1}${(answers.get(q.id) || []).length ? ", đã trả lời" : ""}`,
        onclick: () => at(i),
      }, String(i + 1))));
      let body;
      if (local.submitting || submitting) {
        body = [h("p", { class: "ok" }, "Đang nộp bài…"), status];
      } else if (index < total) {
        const q = questions[index];
        const chosen = new Set(answers.get(q.id) || []);
        const multiple = q.kind === "multiple";
        body = [
          h("fieldset", {},
            h("legend", { class: "question" }, `Câu ${index + 1}. `, q.text),
            multiple ? h("p", { class: "muted" }, "Có thể chọn nhiều đáp án.") : null,
            q.options.map((o, n) => h("label", { class: `option${chosen.has(o.id) ? " chosen" : ""}` },
              h("input", {
                type: multiple ? "checkbox" : "radio", name: `q-${q.id}`, value: o.id, checked: chosen.has(o.id),
                onchange: (e) => {
                  if (multiple) { if (e.target.checked) chosen.add(o.id); else chosen.delete(o.id); } else { chosen.clear(); chosen.add(o.id); }
                  choose(q.id, [...chosen]);
                  // Marked in place: no re-render, so focus stays on the option.
                  $main.querySelectorAll("label.option").forEach((label) => {
                    label.classList.toggle("chosen", label.querySelector("input").checked);
                  });
                  progress.value = answeredCount();
                },
              }),
              h("span", {}, `${"ABCDEFGH"[n]}. `, o.text)))),
          h("div", { class: "row" },
            h("button", { class: "btn secondary", type: "button", disabled: index === 0, onclick: () => at(index - 1) }, "Câu trước"),
            h("button", { class: "btn", type: "button", onclick: () => at(index + 1) }, index + 1 < total ? "Câu tiếp" : "Câu dự đoán")),
        ];
      } else {
        const input = h("input", {
          id: "prediction", type: "number", inputmode: "numeric", min: "0", step: "1", value: prediction,
          "aria-describedby": "prediction-hint",
          oninput: (e) => { prediction = e.target.value.trim(); persist(); },
        });
        body = [
          h("div", { class: "field" },
            h("label", { for: "prediction", class: "question" }, attempt.prediction_prompt),
            h("span", { class: "hint", id: "prediction-hint" }, "Nhập một số nguyên, ví dụ 12500."),
            input),
          error ? h("p", { class: "error", role: "alert" }, error) : null,
          h("div", { class: "row" },
            h("button", { class: "btn secondary", type: "button", onclick: () => at(total - 1) }, "Câu trước"),
            h("button", { class: "btn", type: "button", onclick: askSubmit }, "Nộp bài")),
        ];
      }
      page(`Bài thi`,
        h("div", { class: "timer" },
          h("span", {}, index < total ? `Câu ${index + 1}/${total}` : "Câu dự đoán"), clock),
        progress,
        body,
        local.submitting || submitting ? null : [status,
          h("details", {}, h("summary", {}, "Danh sách câu hỏi"), grid),
          index < total ? h("button", { class: "btn secondary block", type: "button", onclick: askSubmit }, "Nộp bài") : null],
        confirmBox);
      tick();
    }

    view();
    // Answers chosen offline before a reload are sent now; a submission cut off by a
    // reload is sent again, the same request.
    if (local.answers) { dirty = true; flush(); }
    if (local.submitting) submit();
  }

  // ---------------------------------------------------------------- result and answer key

  async function resultPage(id) {
    const page = painter();
    if (needLogin()) return;
    const a = await api("GET", `/attempts/${id}`);
    if (a.state === "in_progress") return go(`#/bai/${id}`, true);
    const r = a.result;
    const keyed = a.questions.some((q) => q.correct_option_ids);
    const chosen = new Map(a.answers.map((x) => [x.question_id, new Set(x.option_ids)]));
    page("Kết quả bài thi",
      h("div", { class: "card" },
        h("p", { class: "ok" }, a.state === "expired" ? "Bài đã được nộp khi hết giờ." : "Bạn đã nộp bài."),
        h("p", {}, "Số câu đúng: ", h("strong", {}, `${r.correct}/${r.total}`)),
        h("p", {}, "Thời gian làm bài: ", fmtDuration(r.duration_ms)),
        h("p", {}, "Dự đoán: ", r.prediction === null ? "không có" : fmtNumber(r.prediction)),
        h("p", { class: "muted" }, "Nộp lúc ", fmtTime(r.submitted_at))),
      h("div", { class: "row" },
        h("a", { class: "btn", href: `#/bxh/${a.round_id}` }, "Xem bảng xếp hạng"),
        h("a", { class: "btn secondary", href: "#/lich-su" }, "Bài thi của tôi")),
      h("h2", {}, "Đáp án"),
      keyed ? a.questions.map((q, i) => {
        const right = new Set(q.correct_option_ids);
        const mine = chosen.get(q.id) || new Set();
        return h("div", { class: "card" },
          h("p", { class: "question" }, `Câu ${i + 1}. `, q.text),
          h("ul", { class: "key" }, q.options.map((o, n) => h("li", {
            class: `option ${right.has(o.id) ? "right" : mine.has(o.id) ? "wrong" : ""}`,
          }, `${"ABCDEFGH"[n]}. ${o.text}`,
          right.has(o.id) ? " ✓ (đáp án đúng)" : "", mine.has(o.id) ? " — bạn chọn" : ""))),
          q.explanation ? h("p", { class: "muted" }, "Giải thích: ", q.explanation) : null);
      }) : h("p", { class: "muted" }, "Đáp án và giải thích được công bố khi Ban Giám khảo tổng kết vòng thi."));
  }

  // ---------------------------------------------------------------- leaderboards

  async function boardPage(id) {
    const page = painter();
    const round = await api("GET", `/rounds/${id}`);
    const table = h("div");
    const mine = h("div", { role: "status", "aria-live": "polite" });
    const winners = h("div");
    async function load() {
      try {
        const board = await api("GET", `/rounds/${id}/leaderboard?limit=50`);
        put(table, board.items.length ? h("table", {},
          h("caption", { class: "sr-only" }, "50 người đứng đầu"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Hạng"), h("th", { scope: "col" }, "Họ và tên"),
            h("th", { scope: "col", class: "num" }, "Đúng"), h("th", { scope: "col", class: "num" }, "Thời gian"))),
          h("tbody", {}, board.items.map((row) => h("tr", { class: session && row.member_id === session.id ? "me" : "" },
            h("td", {}, String(row.rank)),
            h("td", {}, row.display_name, row.unit ? h("div", { class: "muted" }, row.unit) : null),
            h("td", { class: "num" }, String(row.correct)),
            h("td", { class: "num" }, fmtDuration(row.duration_ms))))))
          : h("p", { class: "muted" }, "Chưa có ai nộp bài."),
          h("p", { class: "muted" }, `${fmtNumber(board.total)} người dự thi.`));
        if (session && session.role === "member") {
          try {
            const me = await api("GET", `/rounds/${id}/leaderboard/me`);
            put(mine, h("p", { class: "card" }, "Hạng của bạn: ", h("strong", {}, `${fmtNumber(me.rank)}/${fmtNumber(me.total)}`),
              ` — đúng ${me.correct} câu trong ${fmtDuration(me.duration_ms)}.`));
          } catch (err) {
            if (err instanceof ApiError && err.status === 404) put(mine, h("p", { class: "muted" }, "Bạn chưa có bài nộp ở vòng này."));
            else throw err;
          }
        }
      } catch (err) {
        put(table, errorBox(err));
      }
    }
    if (round.state === "finalized") {
      const list = await api("GET", `/rounds/${id}/winners/public`);
      put(winners, h("h2", {}, "Danh sách đoạt giải"), list.items.length ? h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Giải"), h("th", { scope: "col" }, "Họ và tên"), h("th", { scope: "col" }, "Điện thoại"))),
        h("tbody", {}, list.items.map((w) => h("tr", {},
          h("td", {}, w.prize), h("td", {}, w.display_name, w.unit ? h("div", { class: "muted" }, w.unit) : null),
          h("td", {}, w.phone_masked || ""))))) : h("p", { class: "muted" }, "Không có người đoạt giải."),
      h("p", { class: "muted" }, `Giá trị đúng của câu dự đoán: ${fmtNumber(list.actual_value)}.`));
    }
    page(`Bảng xếp hạng — Vòng ${round.number}`, mine, winners,
      h("h2", {}, round.state === "finalized" ? "Kết quả chung cuộc" : "Xếp hạng tạm thời"),
      round.state === "finalized" ? null : h("p", { class: "muted" }, "Xếp theo số câu đúng rồi thời gian làm bài; câu dự đoán được tính khi tổng kết."),
      table,
      h("button", { class: "btn secondary", type: "button", onclick: load }, "Làm mới"));
    await load();
    every(30000, () => { if (!document.hidden) load(); });
  }

  // ---------------------------------------------------------------- accounts

  /** A labelled input with a place for its error. */
  function field(name, label, attrs = {}, hint) {
    return h("div", { class: "field" },
      h("label", { for: `f-${name}` }, label, hint ? h("span", { class: "hint", id: `h-${name}` }, hint) : null),
      h("input", { id: `f-${name}`, name, "aria-describedby": hint ? `h-${name}` : null, ...attrs }),
      h("p", { class: "field-error", id: `e-${name}`, hidden: true }));
  }
  function showFieldErrors(form, err) {
    form.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; });
    form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
    const FIELD_MESSAGES = { phone: "Số điện thoại di động Việt Nam gồm 10 số, bắt đầu bằng 03, 05, 07, 08 hoặc 09.", password: "Mật khẩu cần ít nhất 8 ký tự.", id_number: "Số CCCD gồm 12 chữ số." };
    let first = null;
    for (const name of Object.keys(err.fields || {})) {
      const input = form.querySelector(`[name="${name}"]`);
      const p = form.querySelector(`#e-${name}`);
      if (!input || !p) continue;
      input.setAttribute("aria-invalid", "true");
      p.textContent = FIELD_MESSAGES[name] || err.fields[name].join(" ");
      p.hidden = false;
      input.setAttribute("aria-errormessage", p.id);
      first = first || input;
    }
    if (first) first.focus();
  }

  async function signedIn(pair) {
    setSession({ access: pair.access_token, refresh: pair.refresh_token });
    const me = await api("GET", "/me");
    setSession({ ...session, id: me.id, role: me.role, name: me.full_name });
    const next = store.get("hoithi.next");
    store.del("hoithi.next");
    go(next || (isStaff() ? "#/quan-ly" : "#/"), true);
  }

  function accountForm(title, fields, submitLabel, send) {
    const message = h("div", { role: "alert" });
    const button = h("button", { class: "btn block", type: "submit" }, submitLabel);
    const form = h("form", { novalidate: true }, fields, message, button);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      button.disabled = true;
      put(message);
      const data = Object.fromEntries(new FormData(form));
      try {
        await signedIn(await send(data));
      } catch (err) {
        button.disabled = false;
        put(message, errorBox(err));
        if (err instanceof ApiError) showFieldErrors(form, err);
      }
    });
    return form;
  }

  function loginPage() {
    const page = painter();
    page("Đăng nhập", accountForm("Đăng nhập", [
      field("login", "Số điện thoại", { type: "text", inputmode: "tel", autocomplete: "username", required: true }, "Cán bộ dùng email."),
      field("password", "Mật khẩu", { type: "password", autocomplete: "current-password", required: true }),
    ], "Đăng nhập", (d) => api("POST", "/auth/login", { login: d.login, password: d.password })),
    h("p", {}, "Chưa có tài khoản? ", h("a", { href: "#/dang-ky" }, "Đăng ký")));
  }

  async function registerPage() {
    const page = painter();
    // Units one level at a time: choosing one with sub-units offers them next; the
    // deepest choice is the member's unit.
    const unitCode = h("input", { type: "hidden", name: "unit_code", value: "" });
    const levels = h("div");
    async function unitLevel(parent, depth) {
      let list;
      try {
        list = (await api("GET", `/units?limit=500${parent ? `&parent=${encodeURIComponent(parent)}` : ""}`)).items;
      } catch { return; }
      while (levels.children.length > depth) levels.lastChild.remove();
      if (!list.length) return;
      const id = `f-unit-${depth}`;
      const select = h("select", {
        id,
        onchange: () => {
          unitCode.value = select.value || parent || "";
          while (levels.children.length > depth + 1) levels.lastChild.remove();
          const unit = list.find((u) => u.code === select.value);
          if (unit && unit.children > 0) unitLevel(unit.code, depth + 1);
        },
      }, h("option", { value: "" }, depth ? "— Chọn đơn vị cấp dưới (nếu có) —" : "— Chọn đơn vị —"),
      list.map((u) => h("option", { value: u.code }, u.name)));
      levels.append(h("div", { class: "field" },
        h("label", { for: id }, depth ? "Đơn vị cấp dưới" : "Đơn vị", depth ? null : h("span", { class: "hint" }, "Nơi bạn sinh hoạt, đến cấp thấp nhất có thể.")),
        select));
    }
    await unitLevel(null, 0);
    const unitSelect = [levels, unitCode, h("p", { class: "field-error", id: "e-unit_code", hidden: true })];
    page("Đăng ký dự thi", accountForm("Đăng ký", [
      field("phone", "Số điện thoại", { type: "tel", inputmode: "tel", autocomplete: "tel", required: true }, "Ví dụ 0912 345 678. Dùng để đăng nhập."),
      field("full_name", "Họ và tên", { type: "text", autocomplete: "name", required: true }),
      field("password", "Mật khẩu", { type: "password", autocomplete: "new-password", required: true, minlength: 8 }, "Ít nhất 8 ký tự."),
      field("birth_year", "Năm sinh (không bắt buộc)", { type: "number", inputmode: "numeric", min: 1900, max: 2100 }),
      field("id_number", "Số CCCD (không bắt buộc)", { type: "text", inputmode: "numeric", maxlength: 12 }, "12 chữ số, dùng khi nhận giải."),
      unitSelect,
    ], "Đăng ký", (d) => {
      const body = { phone: d.phone, full_name: d.full_name, password: d.password };
      if (d.birth_year) body.birth_year = Number(d.birth_year);
      if (d.id_number) body.id_number = d.id_number;
      if (d.unit_code) body.unit_code = d.unit_code;
      return api("POST", "/auth/register", body);
    }),
    h("p", {}, "Đã có tài khoản? ", h("a", { href: "#/dang-nhap" }, "Đăng nhập")));
  }

  async function logout() {
    try { if (session) await api("POST", "/auth/logout"); } catch { /* signed out here anyway */ }
    setSession(null);
    go("#/", true);
  }

  // ---------------------------------------------------------------- staff pages

  async function download(path, name) {
    const res = await api("GET", path, undefined, { raw: true, headers: { Accept: "*/*" } });
    const url = URL.createObjectURL(await res.blob());
    const a = h("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  async function staffHome() {
    const page = painter();
    if (needLogin()) return;
    const list = await api("GET", "/contests?limit=100");
    page("Quản lý cuộc thi",
      list.items.map((c) => h("div", { class: "card" },
        h("h2", {}, h("a", { href: `#/quan-ly/c/${c.slug}` }, c.title)),
        h("p", { class: "muted" }, c.status === "published" ? "Đã công bố" : "Bản nháp"))));
  }

  const FORMATS = { csv: "csv", xlsx: "xlsx", docx: "docx", txt: "txt", gift: "gift", aiken: "aiken", json: "json" };

  function importBox(slug) {
    const report = h("div", { role: "status", "aria-live": "polite" });
    const file = h("input", { id: "f-file", type: "file", accept: ".csv,.xlsx,.docx,.txt,.gift,.aiken,.json" });
    const check = h("button", { class: "btn", type: "button" }, "Kiểm tra tệp");
    const format = () => FORMATS[(file.files[0]?.name.split(".").pop() || "").toLowerCase()];
    async function send(dryRun) {
      const chosen = file.files[0];
      if (!chosen || !format()) { put(report, h("p", { class: "error" }, "Hãy chọn tệp .csv, .xlsx, .docx, .txt, .gift, .aiken hoặc .json.")); return; }
      put(report, h("p", { class: "muted" }, "Đang xử lý…"));
      try {
        const r = await api("POST", `/contests/${slug}/questions/import?format=${format()}${dryRun ? "&dry_run=true" : ""}`, chosen);
        const lines = [
          h("p", { class: r.errors.length ? "error" : "ok" }, dryRun
            ? `Tệp có ${r.valid ?? r.imported} câu hợp lệ, ${r.errors.length} lỗi, ${r.skipped.length} câu bỏ qua.`
            : `Đã nhập ${r.imported} câu hỏi.`),
          r.errors.length ? h("ul", {}, r.errors.map((e) => h("li", {}, `Dòng ${e.line}: ${e.message}`))) : null,
          r.skipped.length ? h("ul", {}, r.skipped.map((s) => h("li", {}, `Bỏ qua dòng ${s.line}: ${s.reason}`))) : null,
        ];
        if (dryRun && !r.errors.length && (r.valid ?? r.imported) > 0) {
          lines.push(h("button", { class: "btn", type: "button", onclick: () => send(false) }, `Nhập ${r.valid ?? r.imported} câu hỏi`));
        }
        put(report, ...lines);
      } catch (err) {
        put(report, errorBox(err));
      }
    }
    check.addEventListener("click", () => send(true));
    return h("div", { class: "card" }, h("h2", {}, "Nhập câu hỏi từ tệp"),
      h("label", { for: "f-file" }, "Tệp câu hỏi", h("span", { class: "hint" }, "Excel, CSV, Word, GIFT, Aiken hoặc JSON. Kiểm tra trước, rồi mới nhập.")),
      file, h("p", {}), check, report);
  }

  function roundForm(slug, nextNumber, onCreated) {
    const message = h("div", { role: "alert" });
    const vn = (local) => (local ? `${local}:00+07:00` : "");
    const form = h("form", { novalidate: true },
      field("number", "Số thứ tự vòng", { type: "number", min: 1, value: nextNumber, required: true }),
      field("title", "Tên vòng", { type: "text", required: true, value: `Tuần ${nextNumber}` }),
      field("opens_at", "Mở lúc (giờ Việt Nam)", { type: "datetime-local", required: true }),
      field("closes_at", "Đóng lúc (giờ Việt Nam)", { type: "datetime-local", required: true }),
      field("question_count", "Số câu hỏi", { type: "number", min: 1, value: 20, required: true }),
      field("time_limit_minutes", "Thời gian làm bài (phút)", { type: "number", min: 1, value: 15, required: true }),
      field("max_attempts", "Số lần thi tối đa", { type: "number", min: 1, max: 10, value: 1, required: true }),
      field("prediction_prompt", "Câu hỏi dự đoán", { type: "text", required: true, value: "Theo bạn, có bao nhiêu lượt người dự thi ở vòng này?" }),
      field("prizes", "Giải thưởng", { type: "text", value: "Giải Nhất: 1; Giải Nhì: 2; Giải Ba: 3; Giải Khuyến khích: 10" }, "Dạng “Tên giải: số lượng”, ngăn cách bằng dấu chấm phẩy."),
      message,
      h("button", { class: "btn block", type: "submit" }, "Tạo vòng thi"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const d = Object.fromEntries(new FormData(form));
      const prizes = d.prizes.split(";").map((p) => p.trim()).filter(Boolean).map((p) => {
        const [name, count] = p.split(":");
        return { name: (name || "").trim(), count: Number((count || "1").trim()) };
      });
      try {
        const round = await api("POST", `/contests/${slug}/rounds`, {
          number: Number(d.number), title: d.title, opens_at: vn(d.opens_at), closes_at: vn(d.closes_at),
          question_count: Number(d.question_count), time_limit_seconds: Number(d.time_limit_minutes) * 60,
          max_attempts: Number(d.max_attempts),
          prediction: { prompt: d.prediction_prompt, target: "entries" }, prizes,
        });
        onCreated(round);
      } catch (err) {
        put(message, errorBox(err), err instanceof ApiError
          ? h("ul", {}, Object.entries(err.fields).map(([k, v]) => h("li", {}, `${k}: ${v.join(" ")}`))) : null);
      }
    });
    return h("details", { class: "card" }, h("summary", {}, "Tạo vòng thi mới"), form);
  }

  async function staffContest(slug) {
    const page = painter();
    if (needLogin()) return;
    const [contest, rounds] = await Promise.all([
      api("GET", `/contests/${slug}`), api("GET", `/contests/${slug}/rounds?limit=100`)]);
    const role = session.role;
    const next = rounds.items.reduce((m, r) => Math.max(m, r.number), 0) + 1;
    const message = h("div", { role: "status", "aria-live": "polite" });
    page(contest.title,
      h("div", { class: "card" }, h("h2", {}, "Các vòng thi"), rounds.items.length
        ? h("ul", {}, rounds.items.map((r) => h("li", {}, h("a", { href: `#/quan-ly/vong/${r.id}` }, `Vòng ${r.number}: ${r.title}`), ` — ${STATE[r.state]}`)))
        : h("p", { class: "muted" }, "Chưa có vòng thi.")),
      role === "organizer" || role === "admin" ? [importBox(slug), roundForm(slug, next, (r) => go(`#/quan-ly/vong/${r.id}`))] : null,
      role === "judge" || role === "admin" ? h("div", { class: "card" }, h("h2", {}, "Danh sách đoạt giải cả cuộc thi"),
        h("button", { class: "btn", type: "button", onclick: async () => {
          put(message);
          try { await download(`/contests/${slug}/winners?format=xlsx`, `dat-giai-${slug}.xlsx`); } catch (err) { put(message, errorBox(err)); }
        } }, "Tải tệp Excel"), message) : null);
  }

  async function staffRound(id) {
    const page = painter();
    if (needLogin()) return;
    const round = await api("GET", `/rounds/${id}`);
    const judge = session.role === "judge" || session.role === "admin";
    const stats = h("div");
    const winnersBox = h("div");
    const message = h("div", { role: "status", "aria-live": "polite" });
    async function loadStats() {
      try {
        const s = await api("GET", `/rounds/${id}/stats`);
        put(stats,
          h("p", {}, `Lượt thi: ${fmtNumber(s.entries)} — người dự thi: ${fmtNumber(s.participants)} — bài đúng hết: ${fmtNumber(s.perfect_entries)}`),
          s.by_unit && s.by_unit.length ? h("table", {},
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Đơn vị"), h("th", { scope: "col", class: "num" }, "Người dự thi"))),
            h("tbody", {}, s.by_unit.slice(0, 20).map((u) => h("tr", {}, h("td", {}, u.name), h("td", { class: "num" }, fmtNumber(u.participants))))))
            : null);
      } catch (err) {
        put(stats, errorBox(err));
      }
    }
    const reasonBox = h("dialog", { "aria-labelledby": "dq-title" });
    function askDisqualify(w) {
      const reason = h("textarea", { id: "f-reason", rows: 3, required: true });
      const error = h("p", { class: "error", role: "alert" });
      put(reasonBox, h("h2", { id: "dq-title" }, `Loại ${w.full_name}?`),
        h("label", { for: "f-reason" }, "Lý do (ghi vào nhật ký)"), reason, error,
        h("div", { class: "row" },
          h("button", { class: "btn danger", type: "button", onclick: async () => {
            if (!reason.value.trim()) { error.textContent = "Hãy ghi lý do."; return; }
            try {
              await api("POST", `/rounds/${id}/winners/${w.member_id}/disqualify`, { reason: reason.value.trim() });
              reasonBox.close();
              loadWinners();
            } catch (err) { error.textContent = explain(err); }
          } }, "Loại và chuyển giải"),
          h("button", { class: "btn secondary", type: "button", onclick: () => reasonBox.close() }, "Thôi")));
      reasonBox.showModal();
    }
    async function loadWinners() {
      try {
        const list = await api("GET", `/rounds/${id}/winners`);
        put(winnersBox, h("h2", {}, "Người đoạt giải"), h("table", {},
          h("thead", {}, h("tr", {}, ["Giải", "Họ và tên", "Đúng", ""].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, list.items.map((w) => h("tr", {},
            h("td", {}, w.prize), h("td", {}, w.full_name, h("div", { class: "muted" }, w.phone || "")),
            h("td", { class: "num" }, String(w.correct)),
            h("td", {}, h("button", { class: "btn secondary", type: "button", onclick: () => askDisqualify(w) }, "Loại")))))),
        h("div", { class: "row" },
          h("button", { class: "btn", type: "button", onclick: () => download(`/rounds/${id}/winners?format=xlsx`, `dat-giai-vong-${round.number}.xlsx`).catch((err) => put(message, errorBox(err))) }, "Tải danh sách (Excel)"),
          h("button", { class: "btn secondary", type: "button", onclick: () => download(`/rounds/${id}/results?format=csv`, `ket-qua-vong-${round.number}.csv`).catch((err) => put(message, errorBox(err))) }, "Tải toàn bộ kết quả (CSV)")));
      } catch (err) {
        put(winnersBox, errorBox(err));
      }
    }
    const finalize = h("button", { class: "btn", type: "button" }, "Tổng kết vòng thi");
    finalize.addEventListener("click", async () => {
      finalize.disabled = true;
      put(message, h("p", { class: "muted" }, "Đang tổng kết, có thể mất một lúc…"));
      try {
        const r = await api("POST", `/rounds/${id}/finalize`);
        put(message, h("p", { class: "ok" }, `Đã tổng kết: ${fmtNumber(r.ranked)} người được xếp hạng, giá trị đúng ${fmtNumber(r.actual_value)}.`));
        loadWinners();
      } catch (err) {
        finalize.disabled = false;
        put(message, errorBox(err));
      }
    });
    page(`Vòng ${round.number}: ${round.title}`,
      h("p", {}, h("span", { class: `badge ${round.state}` }, STATE[round.state]), ` ${fmtTime(round.opens_at)} – ${fmtTime(round.closes_at)}`),
      h("div", { class: "card" }, h("h2", {}, "Tham gia"), stats,
        h("button", { class: "btn secondary", type: "button", onclick: loadStats }, "Làm mới")),
      judge && round.state !== "finalized" ? h("div", { class: "card" }, h("h2", {}, "Tổng kết"), finalize) : null,
      message, winnersBox, reasonBox);
    await loadStats();
    every(15000, () => { if (!document.hidden) loadStats(); });
    if (judge && round.state === "finalized") await loadWinners();
  }

  // ---------------------------------------------------------------- start

  window.addEventListener("hashchange", render);
  render();
})();
