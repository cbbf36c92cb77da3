// The product form's photo picker ([data-photo-picker]): photos taken with the camera and
// photos chosen from the phone are gathered into one list (the input with data-photo-main),
// shown as small previews that can be taken out again, and large photos are made smaller
// (longest side 1600 px, JPEG) before the form is sent: less to upload on a phone's data.
// The server checks and re-encodes every picture itself (catalog/images.py); without this
// script the two file inputs are sent as they are.
(function () {
  "use strict";
  var MAX_SIDE = 1600;
  var SHRINK_FROM_BYTES = 1024 * 1024;

  function canGather() {
    try {
      return typeof DataTransfer === "function" && !!new DataTransfer().items;
    } catch (error) {
      return false;
    }
  }

  function shrink(file) {
    var kind = (file.type || "").toLowerCase();
    var resizable = kind === "image/jpeg" || kind === "image/png" || kind === "image/webp";
    if (!resizable || !window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.size <= SHRINK_FROM_BYTES) {
        bitmap.close && bitmap.close();
        return file;
      }
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close && bitmap.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) return resolve(file);
          var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
          resolve(new File([blob], name, { type: "image/jpeg", lastModified: Date.now() }));
        }, "image/jpeg", 0.86);
      });
    }).catch(function () {
      return file; // not decodable here: the server says what is wrong with it
    });
  }

  function preview(file, holder) {
    if (!window.createImageBitmap) return;
    createImageBitmap(file).then(function (bitmap) {
      var side = 96;
      var canvas = document.createElement("canvas");
      canvas.width = side;
      canvas.height = side;
      var scale = Math.max(side / bitmap.width, side / bitmap.height);
      var width = bitmap.width * scale;
      var height = bitmap.height * scale;
      canvas.getContext("2d").drawImage(bitmap, (side - width) / 2, (side - height) / 2, width, height);
      bitmap.close && bitmap.close();
      canvas.setAttribute("aria-hidden", "true");
      holder.insertBefore(canvas, holder.firstChild);
    }).catch(function () {});
  }

  function setUp(picker) {
    var main = picker.querySelector("[data-photo-main]");
    var list = picker.querySelector(".photo-previews");
    var form = picker.closest("form");
    if (!main || !list || !form || !canGather()) return;
    var inputs = picker.querySelectorAll("input[type=file]");
    var submit = form.querySelector("button[type=submit]");
    var removeLabel = picker.getAttribute("data-remove-label") || "Remove";
    var chosen = [];
    var working = 0;

    function sync() {
      var gathered = new DataTransfer();
      chosen.forEach(function (file) { gathered.items.add(file); });
      main.files = gathered.files;
      list.textContent = "";
      chosen.forEach(function (file, index) {
        var item = document.createElement("li");
        var name = document.createElement("span");
        name.className = "photo-name";
        name.textContent = file.name;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link";
        remove.textContent = removeLabel;
        remove.setAttribute("aria-label", removeLabel + ": " + file.name);
        remove.addEventListener("click", function () {
          chosen.splice(index, 1);
          sync();
        });
        item.appendChild(name);
        item.appendChild(remove);
        list.appendChild(item);
        preview(file, item);
      });
    }

    function busy(delta) {
      working += delta;
      form.toggleAttribute("data-busy", working > 0);
      if (submit) submit.disabled = working > 0;
    }

    Array.prototype.forEach.call(inputs, function (input) {
      input.addEventListener("change", function () {
        var files = Array.prototype.slice.call(input.files || []);
        if (input !== main) input.value = "";
        if (!files.length) return sync();
        busy(1);
        Promise.all(files.map(shrink)).then(function (ready) {
          chosen = chosen.concat(ready);
          sync();
          busy(-1);
        });
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-photo-picker]"), setUp);
})();
