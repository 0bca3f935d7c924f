"""Vocabularies for the demo world: people, companies, departments, places, SaaS apps."""

FIRST_NAMES = """
Aaliyah Aaron Abigail Adam Adrian Aisha Alan Alejandro Alex Alice Alicia Amanda Amelia Amir Amy
Ana Andrea Andrew Angela Anna Anthony Antonio Arjun Ava Barbara Ben Benjamin Beth Bianca Brandon
Brian Bruno Caleb Camila Carlos Carmen Caroline Catherine Chen Chloe Chris Christina Claire Daniel
David Deborah Diana Diego Dmitri Elena Elijah Elizabeth Ella Emily Emma Eric Ethan Eva Fatima Felix
Fernando Fiona Francesca Gabriel Grace Hannah Hassan Helen Henry Hiroshi Hugo Ian Irene Isabel
Isaac Jack Jacob James Jana Jasmine Jason Javier Jennifer Jessica Joan John Jonas Jorge Joseph
Joshua Julia Julian Karen Katherine Kenji Kevin Kim Laura Lauren Leah Lena Leo Liam Linda Lisa
Lucas Lucy Luis Maria Mark Marta Martin Mateo Matthew Maya Megan Mei Michael Michelle Miguel Mila
Mohammed Monica Nadia Natalie Nathan Nicole Noah Nora Olivia Omar Oscar Pablo Patricia Paul Pedro
Peter Priya Rachel Rafael Rahul Raj Rebecca Ricardo Robert Rosa Ryan Sakura Samuel Sara Sarah
Sean Sebastian Sofia Sophie Stefan Stephanie Steven Susan Thomas Tim Valentina Victor Victoria
Wei William Yasmin Yuki Zoe
""".split()

SURNAMES = """
Abbott Adams Ahmed Alvarez Andersen Anderson Bailey Baker Banerjee Becker Bennett Berg Brooks
Brown Campbell Carter Castro Chen Clark Collins Cook Cooper Cruz Dahl Davies Davis Diaz Dubois
Edwards Evans Fischer Fisher Flores Foster Garcia Gomez Gonzalez Gray Green Hall Hansen Harris
Hayes Hernandez Hill Hoffmann Howard Hughes Ito Jackson Jansen Jensen Johansson Johnson Jones Kaur
Kelly Khan Kim King Klein Kowalski Kumar Larsen Lee Lewis Lindqvist Lopez Martin Martinez Meyer
Miller Mitchell Moore Morales Morgan Morris Murphy Nakamura Nguyen Nielsen Novak Olsen Ortiz
Patel Perez Peters Petrov Phillips Price Ramirez Reed Reyes Richardson Rivera Roberts Robinson
Rodriguez Rogers Romero Rossi Russo Sanchez Santos Schmidt Schneider Scott Shah Silva Singh Smith
Sorensen Stewart Sullivan Suzuki Tanaka Taylor Thomas Thompson Torres Turner Walker Wang Ward
Watson Weber White Williams Wilson Wong Wright Yamamoto Young Zhang
""".split()

COMPANY_STEMS = """
Contoso Fabrikam Northwind Tailspin Adventure Woodgrove Litware Proseware Alpine Coho Wingtip
Lucerne Trey Humongous Relecloud VanArsdel Margie Fourth Lamna Southridge Bellows Munson Nod
Blue Yonder Graphic Consolidated Wide World Liberty Datum Boreal Cascade Granite Harbor Juniper
Kestrel Lakeside Meridian Northpoint Oakridge Pinecrest Quarry Redwood Silverline Summit Tidewater
Upland Vantage Westbrook Yarrow Zephyr Brightwater Copperfield Driftwood Evergreen Foxglove
""".split()

INDUSTRIES = """
Dental Logistics Legal Accounting Architects Engineering Healthcare Pharmacy Realty Insurance
Consulting Manufacturing Foods Travel Media Publishing Construction Energy Retail Veterinary
""".split()

# department -> job titles (the first one manages the department)
DEPARTMENTS = {
    "Executive": ["Chief Executive Officer", "Chief Operating Officer", "Executive Assistant"],
    "Sales": ["Sales Director", "Account Executive", "Sales Representative", "Inside Sales Specialist"],
    "Marketing": ["Marketing Manager", "Content Strategist", "Marketing Coordinator", "Graphic Designer"],
    "Finance": ["Finance Director", "Accountant", "Financial Analyst", "Accounts Payable Clerk"],
    "Human Resources": ["HR Manager", "HR Generalist", "Recruiter"],
    "IT": ["IT Manager", "Systems Administrator", "Helpdesk Technician", "Network Engineer"],
    "Operations": ["Operations Manager", "Operations Coordinator", "Logistics Planner", "Office Manager"],
    "Customer Support": ["Support Manager", "Customer Support Specialist", "Service Desk Agent"],
    "Engineering": ["Engineering Manager", "Software Engineer", "QA Engineer", "Project Engineer"],
    "Legal": ["General Counsel", "Paralegal", "Compliance Officer"],
}
# relative head count of each department
DEPARTMENT_WEIGHTS = {"Executive": 1, "Sales": 5, "Marketing": 3, "Finance": 3, "Human Resources": 2,
                      "IT": 2, "Operations": 4, "Customer Support": 4, "Engineering": 5, "Legal": 1}

# (city, state, country, usage location, postal code, street, phone prefix)
PLACES = (
    ("Seattle", "WA", "United States", "US", "98101", "1200 5th Ave", "+1 206 555"),
    ("Chicago", "IL", "United States", "US", "60601", "200 E Randolph St", "+1 312 555"),
    ("Austin", "TX", "United States", "US", "78701", "500 Congress Ave", "+1 512 555"),
    ("Toronto", "ON", "Canada", "CA", "M5H 2N2", "100 King St W", "+1 416 555"),
    ("London", "", "United Kingdom", "GB", "EC2V 7HH", "1 Poultry", "+44 20 7946"),
    ("Manchester", "", "United Kingdom", "GB", "M1 1AD", "10 Piccadilly", "+44 161 496"),
    ("Amsterdam", "", "Netherlands", "NL", "1012 JS", "Damrak 70", "+31 20 555"),
    ("Berlin", "", "Germany", "DE", "10117", "Friedrichstrasse 68", "+49 30 5555"),
    ("Dublin", "", "Ireland", "IE", "D02 F205", "25 St Stephen's Green", "+353 1 555"),
    ("Sydney", "NSW", "Australia", "AU", "2000", "1 Martin Place", "+61 2 5550"),
)

# Well-known SaaS apps assigned to groups: (display name, app role id; zeros = default access)
SAAS_APPS = (
    ("Salesforce", "00000000-0000-0000-0000-000000000000"),
    ("Zoom", "00000000-0000-0000-0000-000000000000"),
    ("Adobe Creative Cloud", "00000000-0000-0000-0000-000000000000"),
    ("ServiceNow", "00000000-0000-0000-0000-000000000000"),
    ("Slack", "00000000-0000-0000-0000-000000000000"),
    ("DocuSign", "00000000-0000-0000-0000-000000000000"),
    ("Atlassian Cloud", "00000000-0000-0000-0000-000000000000"),
    ("Dropbox Business", "00000000-0000-0000-0000-000000000000"),
)

PROJECT_WORDS = """
Phoenix Atlas Orion Horizon Aurora Beacon Compass Falcon Harbor Keystone Lighthouse Mosaic Nova
Pioneer Quantum Sierra Trident Voyager Zenith Catalyst
""".split()

DEVICE_MODELS = (
    ("Microsoft", "Surface Laptop 5", "Windows", "10.0.22631.3447"),
    ("Dell Inc.", "Latitude 7440", "Windows", "10.0.22631.3296"),
    ("Lenovo", "ThinkPad T14 Gen 4", "Windows", "10.0.19045.4291"),
    ("HP", "EliteBook 840 G10", "Windows", "10.0.22631.3527"),
    ("Apple", "MacBook Pro (14-inch, 2023)", "macOS", "14.4.1"),
    ("Apple", "iPhone 15", "iOS", "17.4.1"),
    ("samsung", "Galaxy S23", "Android", "14"),
)

SIGN_IN_APPS = (
    ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"),
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"),
    ("4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"),
    ("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"),
    ("d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"),
)
