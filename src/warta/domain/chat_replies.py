"""What the chatbot says, in Bahasa Indonesia and English, and the options it offers.

One table, so every answer can be read (and translated) in one place; ``%(name)s`` slots
are filled by the flows. Option ids: ``intent:<name>`` chooses an intent, ``yes``/``no``
answer a confirmation, ``skip`` passes an optional step, ``svc:<code>`` picks a service,
``ask`` asks about the message just received.

Pure.
"""

from __future__ import annotations

from typing import Final

from warta.domain.channels import Option

INTENTS: Final = (
    "cek_status",
    "buat_pengaduan",
    "berhenti",
    "mulai",
    "ubah_preferensi",
    "bantuan",
    "faq",
    "hubungi_petugas",
    "salam",
    "terima_kasih",
    "tidak_dikenal",
)

TEXTS: Final[dict[str, dict[str, str]]] = {
    "id": {
        "salam": "Halo! Saya asisten Warta. Saya bisa mengecek status laporan, menerima "
        "pengaduan, dan menjawab pertanyaan. Pilih di bawah atau tulis pertanyaan Anda.",
        "terima_kasih": "Sama-sama. Ada lagi yang bisa saya bantu?",
        "bantuan": "Yang bisa saya bantu:",
        "tidak_dikenal": "Maaf, saya belum mengerti. Pilih salah satu di bawah:",
        "ask_tracking": "Kirim nomor pelacakan laporan Anda (8 huruf dan angka, "
        "misalnya K7QM-2H9D).",
        "status": "Laporan %(id)s (%(service)s): %(status)s.",
        "status_update": "Kabar terakhir: %(message)s",
        "no_case": "Laporan %(id)s tidak ditemukan. Periksa lagi nomornya.",
        "my_cases": "Laporan Anda:",
        "no_cases": 'Anda belum punya laporan. Pilih "Buat pengaduan" untuk membuatnya.',
        "ask_service": "Tentang apa pengaduan Anda? Pilih salah satu:",
        "no_service": "Maaf, belum ada layanan pengaduan yang bisa dipilih di sini.",
        "ask_what": "Ceritakan apa yang terjadi.",
        "ask_where": "Di mana lokasinya? (alamat atau patokan)",
        "ask_photo": "Kirim foto bila ada, atau pilih Lewati.",
        "confirm": "Pengaduan: %(what)s. Lokasi: %(where)s. Kirim sekarang?",
        "filed": "Pengaduan Anda diterima dengan nomor %(id)s. Simpan nomor ini untuk "
        "mengecek statusnya.",
        "cancelled": "Baik, pengaduan dibatalkan.",
        "stopped": "Baik, Anda tidak akan menerima pesan dari %(agency)s lagi. Ketik MULAI "
        "untuk berlangganan kembali.",
        "started": "Baik, Anda akan menerima pesan dari %(agency)s lagi.",
        "everyone": "semua instansi",
        "prefs_need_proof": "Untuk mengubah pengaturan, masuk ke portal Warta (%(url)s) "
        "atau hubungkan akun ini lewat portal terlebih dahulu.",
        "prefs_done": "Pengaturan Anda sudah diubah: %(what)s.",
        "prefs_how": 'Sebutkan yang ingin diubah, misalnya "kirim lewat email", "jangan '
        'kirim setelah jam 21:00", "paling banyak 3 pesan sehari", atau "pakai bahasa '
        'Inggris". Untuk mengubah nomor atau alamat, buka %(url)s.',
        "faq_none": "Maaf, saya belum punya jawabannya. Mau saya hubungkan ke petugas?",
        "about_message": "Pesan terakhir dari %(agency)s: %(text)s",
        "handoff": "Baik, percakapan ini diteruskan ke petugas %(agency)s. Mohon tunggu "
        "balasannya di sini.",
        "handoff_later": "Baik, percakapan ini diteruskan ke petugas %(agency)s. Petugas "
        "akan membalas mulai %(when)s.",
        "handoff_none": "Maaf, belum ada petugas yang bisa dihubungi dari sini. Hubungi "
        "instansi yang mengirimi Anda pesan.",
        "waiting": "Pesan Anda sudah diteruskan ke petugas. Mohon tunggu balasannya.",
        "slow_down": "Terlalu banyak pesan. Coba lagi sebentar lagi.",
        "channels": "saluran %(value)s",
        "quiet": "jam tenang %(value)s",
        "max_per_day": "paling banyak %(value)s pesan sehari",
        "max_per_week": "paling banyak %(value)s pesan seminggu",
        "language": "bahasa Indonesia",
    },
    "en": {
        "salam": "Hello! I am Warta's assistant. I can check a report's status, take a "
        "complaint and answer questions. Choose below or type your question.",
        "terima_kasih": "You are welcome. Anything else I can help with?",
        "bantuan": "I can help with:",
        "tidak_dikenal": "Sorry, I did not understand. Choose one of these:",
        "ask_tracking": "Send your report's tracking number (8 letters and digits, "
        "like K7QM-2H9D).",
        "status": "Report %(id)s (%(service)s): %(status)s.",
        "status_update": "Latest news: %(message)s",
        "no_case": "Report %(id)s was not found. Please check the number.",
        "my_cases": "Your reports:",
        "no_cases": 'You have no reports yet. Choose "File a complaint" to make one.',
        "ask_service": "What is your complaint about? Choose one:",
        "no_service": "Sorry, there is no complaint service to choose here yet.",
        "ask_what": "Tell me what happened.",
        "ask_where": "Where is it? (an address or a landmark)",
        "ask_photo": "Send a photo if you have one, or choose Skip.",
        "confirm": "Complaint: %(what)s. Place: %(where)s. Send it now?",
        "filed": "Your complaint was received with number %(id)s. Keep it to check its status.",
        "cancelled": "All right, the complaint is cancelled.",
        "stopped": "All right, you will get no more messages from %(agency)s. Type START "
        "to subscribe again.",
        "started": "All right, you will get messages from %(agency)s again.",
        "everyone": "every agency",
        "prefs_need_proof": "To change your settings, sign in to the Warta portal (%(url)s) "
        "or link this account there first.",
        "prefs_done": "Your settings are changed: %(what)s.",
        "prefs_how": 'Say what to change, like "send by email", "nothing after 21:00", '
        '"at most 3 messages a day" or "use Indonesian". To change a number or address, '
        "open %(url)s.",
        "faq_none": "Sorry, I do not have that answer yet. Shall I connect you to staff?",
        "about_message": "The last message from %(agency)s: %(text)s",
        "handoff": "All right, this conversation goes to %(agency)s staff. Please wait for "
        "their answer here.",
        "handoff_later": "All right, this conversation goes to %(agency)s staff. They "
        "will answer from %(when)s.",
        "handoff_none": "Sorry, there is no staff to reach from here. Contact the agency "
        "that sent you the message.",
        "waiting": "Your message went to staff. Please wait for their answer.",
        "slow_down": "Too many messages. Please try again in a moment.",
        "channels": "channels %(value)s",
        "quiet": "quiet hours %(value)s",
        "max_per_day": "at most %(value)s messages a day",
        "max_per_week": "at most %(value)s messages a week",
        "language": "English",
    },
}

_TITLES: Final[dict[str, dict[str, str]]] = {
    "id": {
        "cek_status": "Cek status",
        "buat_pengaduan": "Buat pengaduan",
        "faq": "Tanya",
        "ubah_preferensi": "Ubah pengaturan",
        "berhenti": "Berhenti",
        "hubungi_petugas": "Hubungi petugas",
        "yes": "Ya, kirim",
        "no": "Batal",
        "skip": "Lewati",
        "ask": "Tanya",
    },
    "en": {
        "cek_status": "Check status",
        "buat_pengaduan": "File a complaint",
        "faq": "Ask",
        "ubah_preferensi": "Change settings",
        "berhenti": "Stop",
        "hubungi_petugas": "Talk to staff",
        "yes": "Yes, send",
        "no": "Cancel",
        "skip": "Skip",
        "ask": "Ask",
    },
}


def text(language: str, key: str, **values: object) -> str:
    words = TEXTS["en" if language == "en" else "id"][key]
    return words % values if values else words


def option(language: str, key: str) -> Option:
    title = _TITLES["en" if language == "en" else "id"][key]
    return Option(key if key in ("yes", "no", "skip", "ask") else f"intent:{key}", title)


def menu(language: str) -> tuple[Option, ...]:
    """What the bot offers when asked for help, or when it did not understand."""
    return tuple(
        option(language, k)
        for k in ("cek_status", "buat_pengaduan", "faq", "ubah_preferensi", "hubungi_petugas")
    )


def with_a_message(language: str) -> tuple[Option, ...]:
    """What every notification on a chat channel offers: ask about it, stop, a person."""
    return (option(language, "ask"), option(language, "berhenti"),
            option(language, "hubungi_petugas"))  # fmt: skip
