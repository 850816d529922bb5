"""The demo's other marketplace shapes: SEOClerks-like, PeoplePerHour-like, Freelancer-like and configured sites."""
