"""The demo agency `make run` creates, so a newcomer can send within a minute."""

from __future__ import annotations

import secrets
import uuid

from warta.deps import Warta
from warta.errors import NotFound
from warta.security.apikeys import key_string
from warta.services import citizen_self, citizens, dkim, staff
from warta.services.admin import create_agency, create_template
from warta.services.cases import catalogue
from warta.services.sending import Caller

DEMO_NAME = "Instansi Demo"
DEMO_ADMIN = "admin@demo.warta.go.id"
#: A citizen to send to by preference (app push, then chat, then SMS), with no quiet
#: hours so a try at night is not deferred to the morning.
DEMO_NIK = "3273014101900002"
DEMO_PREFERENCES = citizens.Preferences(
    channels=("push", "chat", "sms"), quiet_start=None, quiet_end=None
)
NOTICE_SUBJECT = "Posyandu ((tanggal))"
NOTICE_BODY = "Halo ((nama)), jadwal posyandu bulan ini: ((tanggal)) di balai RW 05."
NOTICE_SMS = "Posyandu ((tanggal)) di balai RW 05. Info: Instansi Demo"
EMAIL_SUBJECT = "Dokumen ((jenis dokumen)) Anda siap diambil"
EMAIL_BODY = """Halo ((nama)),

# Dokumen Anda sudah siap

Dokumen ((jenis dokumen)) dengan nomor permohonan ((nomor)) dapat diambil di:

^ ((kantor))

Bawa bukti permohonan dan KTP asli.((perlu janji??

Mohon buat janji temu lebih dulu di aplikasi resmi.))

Terima kasih,
Dinas Kependudukan dan Pencatatan Sipil
"""
SMS_BODY = (
    "Yth. ((nama)), pajak kendaraan ((nomor polisi)) jatuh tempo ((tanggal)). "
    "Bayar di Samsat terdekat atau aplikasi resmi. Balas BERHENTI untuk berhenti."
)


DEMO_TEMPLATES = ("Dokumen siap diambil", "Pengingat pajak kendaraan", "Jadwal posyandu")
DEMO_SERVICES = (
    ("JALAN-RUSAK", "Jalan rusak", "Jalan dan jembatan", "laporan", ("jalan", "lubang")),
    ("LAMPU-JALAN", "Lampu jalan mati", "Penerangan", "laporan", ("lampu", "gelap")),
    ("KTP-EL", "Permohonan KTP-el", "Kependudukan", "permohonan", ("ktp", "e-ktp")),
    ("PENGADUAN", "Pengaduan layanan", "Pengaduan", "pengaduan", ("keluhan", "pungli")),
)
DEMO_ATTRIBUTES = {
    "JALAN-RUSAK": [
        {
            "code": "ukuran",
            "datatype": "singlevaluelist",
            "required": False,
            "description": "Seberapa besar kerusakannya?",
            "values": [
                {"key": "kecil", "name": "Kecil"},
                {"key": "sedang", "name": "Sedang"},
                {"key": "besar", "name": "Besar"},
            ],
        }
    ]
}


async def ensure_demo(app: Warta) -> dict[str, str]:
    # Long on purpose: the demo is a script (agency, templates, keys, citizen, staff), made
    # once and then only read; splitting it would scatter what `make run` prints.
    async with app.uow() as uow:
        agency = await uow.agencies.by_name(DEMO_NAME)
    if agency is None:
        # No SMS sender id of its own: it sends from Warta's (``WARTA``), as most agencies
        # do, and citizens' replies reach it while it is the last to have texted them.
        made = await create_agency(app, DEMO_NAME, email_from="noreply@demo.warta.go.id")
        agency_id = made.id
        await dkim.make_key(app, agency_id, None)  # so make run's email is DKIM-signed
        await create_template(
            app,
            agency_id,
            kind="email",
            name="Dokumen siap diambil",
            subject=EMAIL_SUBJECT,
            body=EMAIL_BODY,
        )
        await create_template(
            app,
            agency_id,
            kind="sms",
            name="Pengingat pajak kendaraan",
            subject=None,
            body=SMS_BODY,
        )
        await create_template(
            app,
            agency_id,
            kind="multi",
            name="Jadwal posyandu",
            subject=NOTICE_SUBJECT,
            body=NOTICE_BODY,
            sms_body=NOTICE_SMS,
        )
    else:
        agency_id = agency.id
    info: dict[str, str] = {"agency_id": str(agency_id)}
    async with app.uow() as uow:
        found = await uow.agencies.get(agency_id)
    assert found is not None
    citizen, _ = await citizens.register(
        app,
        Caller(agency=found, key_id=None, key_type="normal"),
        citizens.NewCitizen(
            nik=DEMO_NIK,
            name="Sri Wahyuni",
            region_code="32.73.01.1001",
            phone_numbers=["081234567890"],
            email_addresses=["sri@contoh.id"],
            preferences=DEMO_PREFERENCES,
            contacts_verified=True,
        ),
    )
    info["citizen_id"] = str(citizen.citizen.id)
    for shown in citizen.contacts:  # as if the demo citizen had confirmed them in the portal
        await citizen_self.make_own_unchecked(app, citizen.citizen.id, shown.contact.id)
    info["console_email"] = DEMO_ADMIN
    info["console_password"] = await _demo_admin_password(app, agency_id)
    async with app.uow() as uow:
        for key in await uow.agencies.keys(agency_id):
            if key.revoked_at is None and key.name in ("live key", "team key", "test key"):
                secret = app.keyring.decrypt(key.secret_enc, field="api_key.secret")
                label = {"normal": "live_key"}.get(key.key_type, f"{key.key_type}_key")
                info[label] = key_string(key.name, agency_id, secret)
        for template in await uow.templates.for_agency(agency_id, None):
            if template.name in DEMO_TEMPLATES:  # not the case messages made later
                info[f"{template.type}_template_id"] = str(template.id)
    await _demo_services(app, agency_id)
    return info


async def _demo_services(app: Warta, agency_id: uuid.UUID) -> None:
    """Services citizens can file cases about, one of each kind (docs/cases.md)."""
    for code, name, group, kind, keywords in DEMO_SERVICES:
        try:
            await catalogue.service(app, code)
        except NotFound:
            await catalogue.create_service(
                app, agency_id, code, name, group=group, kind=kind, keywords=keywords,
                attributes=DEMO_ATTRIBUTES.get(code, ()),
            )  # fmt: skip


async def _demo_admin_password(app: Warta, agency_id: uuid.UUID) -> str:
    """A fresh password at every run, printed for the newcomer (their TOTP set-up stays):
    a fixed demo password would be one more default credential waiting to be forgotten."""
    password = secrets.token_urlsafe(12)
    try:
        await staff.reset_password(app, DEMO_ADMIN, password, reset_totp=False)
    except NotFound:
        await staff.add(
            app, agency_id, email=DEMO_ADMIN, name="Admin Demo", role="admin", password=password
        )
    return password
