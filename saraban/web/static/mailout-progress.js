// The mailout job page, live: polls GET /api/mailouts/{id} and updates the numbers, the bar,
// the errors and the download links; without JavaScript the page refreshes itself instead.
(function () {
  "use strict";
  var card = document.getElementById("job");
  if (!card || card.dataset.ended) { return; }
  var STATES = {queued: "รอคิว", running: "กำลังจัดทำ", finished: "เสร็จแล้ว",
                failed: "ไม่สำเร็จ", cancelled: "ยกเลิกแล้ว"};
  var url = "/api/mailouts/" + card.dataset.job;
  function text(id, value) { document.getElementById(id).textContent = value; }
  function show(job) {
    var state = document.getElementById("job-state");
    state.textContent = STATES[job.state] || job.state;
    state.dataset.state = job.state;
    var bar = document.getElementById("job-bar");
    bar.max = job.total || 1;
    bar.value = job.done;
    bar.textContent = job.done + "/" + job.total;
    text("job-done", job.done);
    text("job-total", job.total);
    text("job-rate", job.rate ? job.rate.toFixed(1) : "—");
    text("job-left", job.seconds_left !== null ? Math.round(job.seconds_left) : "—");
    var errors = document.getElementById("job-errors");
    errors.replaceChildren.apply(errors, job.errors.map(function (e) {
      var li = document.createElement("li");
      li.textContent = (e.college ? "สถานศึกษา " + e.college + ": " : "") + e.message;
      return li;
    }));
    var files = document.getElementById("job-files");
    files.replaceChildren.apply(files, job.downloads.map(function (name) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = url + "/files/" + name;
      a.setAttribute("download", "");
      a.textContent = name;
      li.appendChild(a);
      return li;
    }));
    var none = document.getElementById("job-files-none");
    if (none && job.downloads.length) { none.remove(); }
    var ended = ["finished", "failed", "cancelled"].indexOf(job.state) >= 0;
    var cancel = document.getElementById("job-cancel");
    if (ended && cancel) { cancel.remove(); }
    return ended;
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (job) { if (!show(job)) { setTimeout(poll, 1000); } })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
