def test_healthy(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "database": "ok",
        "broker": "none (tasks run in-process)",
    }


def test_database_down_answers_503_naming_it(make_app, backend):
    url = (
        "postgresql://postgres@127.0.0.1:1/nowhere"
        if backend == "postgresql"
        else "sqlite:////nonexistent-folder/nowhere.sqlite3"
    )
    app = make_app(SQLALCHEMY_DATABASE_URI=url)

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
    assert "database" in response.json["status"]


def test_broker_down_answers_503_naming_it(make_app):
    app = make_app(CELERY_BROKER_URL="redis://127.0.0.1:1/0")

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.json == {"status": "down: broker", "database": "ok", "broker": "unreachable"}


def test_broker_up(make_app, redis_url):
    app = make_app(CELERY_BROKER_URL=redis_url)

    response = app.test_client().get("/healthz")

    assert response.status_code == 200
    assert response.json["broker"] == "ok"
