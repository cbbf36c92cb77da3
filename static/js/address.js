// Province → district → subdistrict pickers, and the postal code of the chosen subdistrict.
(function () {
  "use strict";

  function fill(select, items, placeholder) {
    select.innerHTML = "";
    var first = document.createElement("option");
    first.value = "";
    first.textContent = placeholder;
    select.appendChild(first);
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.code;
      option.textContent = item.name;
      if (item.postal_codes) option.dataset.postalCodes = item.postal_codes.join(" ");
      select.appendChild(option);
    });
  }

  function load(url, code) {
    return fetch(url.replace("__code__", encodeURIComponent(code)), {
      headers: { Accept: "application/json" },
    }).then(function (response) {
      return response.ok ? response.json() : [];
    });
  }

  document.querySelectorAll("[data-address-picker]").forEach(function (picker) {
    var province = picker.querySelector("[data-level=province]");
    var district = picker.querySelector("[data-level=district]");
    var subdistrict = picker.querySelector("[data-level=subdistrict]");
    var postal = picker.querySelector("[data-level=postal]");
    var placeholder = province.options.length ? province.options[0].textContent : "—";

    province.addEventListener("change", function () {
      fill(district, [], placeholder);
      fill(subdistrict, [], placeholder);
      postal.value = "";
      if (!province.value) return;
      load(picker.dataset.districtsUrl, province.value).then(function (items) {
        fill(district, items, placeholder);
      });
    });

    district.addEventListener("change", function () {
      fill(subdistrict, [], placeholder);
      postal.value = "";
      if (!district.value) return;
      load(picker.dataset.subdistrictsUrl, district.value).then(function (items) {
        fill(subdistrict, items, placeholder);
      });
    });

    subdistrict.addEventListener("change", function () {
      var chosen = subdistrict.options[subdistrict.selectedIndex];
      var codes = chosen && chosen.dataset.postalCodes ? chosen.dataset.postalCodes.split(" ") : [];
      postal.value = codes.length === 1 ? codes[0] : "";
      postal.placeholder = codes.join(" / ");
    });
  });
})();
