"""JSON for the province → district → subdistrict pickers."""

from flask import Blueprint, jsonify

from marketplace.geo import services

bp = Blueprint("geo", __name__, url_prefix="/geo")


@bp.get("/provinces/<code>/districts")
def districts(code):
    return jsonify([{"code": d.code, "name": d.name} for d in services.districts_of(code)])


@bp.get("/districts/<code>/subdistricts")
def subdistricts(code):
    return jsonify(
        [
            {"code": s.code, "name": s.name, "postal_codes": s.postal_code_list}
            for s in services.subdistricts_of(code)
        ]
    )
