"""Sites: Procore projects mirrored per connection, their work breakdown (sub jobs, cost codes,
categories, milestones), locations, and Procore people matched to FieldBridge workers."""
