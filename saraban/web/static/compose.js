// The compose page's live preview: the letter is typeset again as the clerk types (after a
// pause), and the merge fields are inserted at the cursor. Without this script the page works
// the same with its "แสดงตัวอย่าง" button.
(function () {
  "use strict";
  var form = document.getElementById("compose");
  if (!form) { return; }
  var pages = document.getElementById("preview-pages");
  var status = document.getElementById("preview-status");
  var url = form.getAttribute("data-preview-url");
  var timer = null;
  var running = null;
  var again = false;

  function show(data) {
    var figures = [];
    for (var n = 1; n <= data.pages; n++) {
      var figure = document.createElement("figure");
      figure.className = "sheet";
      var img = document.createElement("img");
      img.src = "/drafts/preview/" + data.key + "/" + n + ".png";
      img.alt = "หน้า " + n + " จาก " + data.pages + " ของหนังสือที่กำลังเขียน";
      img.width = 794;
      img.height = 1123;
      var caption = document.createElement("figcaption");
      caption.textContent = "หน้า " + n + "/" + data.pages;
      figure.appendChild(img);
      figure.appendChild(caption);
      figures.push(figure);
    }
    pages.replaceChildren.apply(pages, figures);
    status.textContent = "สำหรับ " + data.recipient;
    form.setAttribute("data-preview-key", data.key);
  }

  function problems(errors) {
    var parts = [];
    for (var key in errors) {
      if (Object.prototype.hasOwnProperty.call(errors, key)) { parts.push(errors[key]); }
    }
    status.textContent = "ยังแสดงตัวอย่างไม่ได้: " + parts.join(" · ");
  }

  function refresh() {
    if (running) { again = true; return; }
    var body = new FormData(form);
    body.delete("new_file");
    body.set("action", "preview");
    status.textContent = "กำลังจัดหน้า…";
    running = fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (data) { return [response.ok, data]; });
      })
      .then(function (result) {
        if (result[0]) { show(result[1]); } else { problems(result[1].errors || {}); }
      })
      .catch(function () { status.textContent = "แสดงตัวอย่างไม่ได้ในขณะนี้"; })
      .then(function () {
        running = null;
        if (again) { again = false; refresh(); }
      });
  }

  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, 400);
  }

  form.addEventListener("input", function (event) {
    if (event.target && event.target.type === "file") { return; }
    later();
  });
  form.addEventListener("change", later);

  var body = document.getElementById("f-body");
  var buttons = form.querySelectorAll("button.merge");
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-insert");
      var start = body.selectionStart, end = body.selectionEnd;
      body.setRangeText(text, start, end, "end");
      body.focus();
      later();
    });
  });
  if (!pages.children.length) { refresh(); }
})();
